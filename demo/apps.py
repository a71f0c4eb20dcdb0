from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The demo world (manage.py demo): no models of its own, it fills the others with is_demo rows."""

    name = "demo"
    verbose_name = _("Demo")
