from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SchedulingConfig(AppConfig):
    verbose_name = _("Scheduling")
    name = "scheduling"
    default_auto_field = "django.db.models.BigAutoField"
