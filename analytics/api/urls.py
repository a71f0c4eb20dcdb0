from django.urls import path

from analytics.api.views import (
    InteractionBatchView,
    InteractionPushView,
    InteractionStatsView,
    PostInteractionsRefreshView,
    PostInteractionsView,
)

urlpatterns = [
    path("posts/<uuid:post_id>/interactions/", PostInteractionsView.as_view(), name="post-interactions"),
    path(
        "posts/<uuid:post_id>/interactions/refresh/",
        PostInteractionsRefreshView.as_view(),
        name="post-interactions-refresh",
    ),
    path("interactions/batch/", InteractionBatchView.as_view(), name="interactions-batch"),
    path("interactions/stats/", InteractionStatsView.as_view(), name="interactions-stats"),
    path("interactions/push", InteractionPushView.as_view(), name="interactions-push"),
]
