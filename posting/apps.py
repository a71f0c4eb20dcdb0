from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PostingConfig(AppConfig):
    verbose_name = _("Posts")
    name = "posting"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from config.health import register_alert
        from posting.publishing.accounts import platform_halt_alerts

        register_alert("publishing", platform_halt_alerts)
