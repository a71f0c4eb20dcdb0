from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketConfig(AppConfig):
    verbose_name = _("Market data")
    name = "market"
    default_auto_field = "django.db.models.BigAutoField"
