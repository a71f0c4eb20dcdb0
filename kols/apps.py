from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class KolsConfig(AppConfig):
    verbose_name = _("KOLs")
    name = "kols"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.models import Group

        from kols.roles import ensure_roles_after_migrate, role_label

        # Every place a group is shown (lists, filters, the user form) reads the role in the person's language.
        def group_str(group: Group) -> str:
            return role_label(group.name)

        Group.__str__ = group_str  # type: ignore[method-assign,assignment]

        post_migrate.connect(ensure_roles_after_migrate, dispatch_uid="kols.ensure_roles")
