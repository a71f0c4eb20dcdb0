from rest_framework.routers import SimpleRouter

from kols.api.tokens import ApiTokenViewSet
from kols.api.views import KOLViewSet

router = SimpleRouter()
router.register("kols", KOLViewSet, basename="kol")
router.register("tokens", ApiTokenViewSet, basename="token")
urlpatterns = router.urls
