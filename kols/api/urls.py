from rest_framework.routers import SimpleRouter

from kols.api.views import KOLViewSet

router = SimpleRouter()
router.register("kols", KOLViewSet, basename="kol")
urlpatterns = router.urls
