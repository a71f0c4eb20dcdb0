from django.urls import re_path
from rest_framework.routers import SimpleRouter

from posting.api.generation import BatchViewSet, batch_events_view
from posting.api.publishing import PublicationViewSet
from posting.api.review import PostViewSet
from posting.api.topics import TopicViewSet

router = SimpleRouter()
router.register("posts", PostViewSet, basename="post")
router.register("publications", PublicationViewSet, basename="publication")
router.register("topics", TopicViewSet, basename="topic")

# Batches answer with or without the trailing slash: GET /api/batches/7 and /api/batches/7/ both poll.
batch_router = SimpleRouter()
batch_router.trailing_slash = "/?"
batch_router.register("batches", BatchViewSet, basename="batch")

urlpatterns = [
    *router.urls,
    re_path(r"^batches/(?P<pk>[0-9]+)/events/?$", batch_events_view, name="batch-events"),
    *batch_router.urls,
]
