from rest_framework.routers import SimpleRouter

from market.api.views import StockViewSet

router = SimpleRouter()
router.register("stocks", StockViewSet, basename="stock")
urlpatterns = router.urls
