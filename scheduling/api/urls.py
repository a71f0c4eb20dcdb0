from rest_framework.routers import SimpleRouter

from scheduling.api.views import ScheduleViewSet, TriggerViewSet

router = SimpleRouter()
router.register("schedules", ScheduleViewSet, basename="schedule")
router.register("triggers", TriggerViewSet, basename="trigger")
urlpatterns = router.urls
