from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class KolsConfig(AppConfig):
    verbose_name = _("KOLs")
    name = "kols"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kols.roles import ensure_roles_after_migrate

        post_migrate.connect(ensure_roles_after_migrate, dispatch_uid="kols.ensure_roles")
