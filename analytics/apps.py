from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    verbose_name = _("Analytics")
    name = "analytics"
    default_auto_field = "django.db.models.BigAutoField"
