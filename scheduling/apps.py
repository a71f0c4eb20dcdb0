from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SchedulingConfig(AppConfig):
    verbose_name = _("Scheduling")
    name = "scheduling"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from posting.labels import TRIGGER_LABELS
        from scheduling.trigger_types import TriggerType

        # The post list and page name a post's trigger; posting cannot import the trigger types.
        TRIGGER_LABELS.update(TriggerType.choices)
