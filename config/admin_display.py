"""A column every admin list of demo-capable rows shows: the 示範 (demo) chip of manage.py demo's rows."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from unfold.decorators import display

DEMO_LABELS = {"demo": "info"}


class DemoColumnMixin:
    """Adds ``demo_flag`` for list_display; ``demo_field`` names the flag ("is_demo", "post__is_demo")."""

    demo_field = "is_demo"

    @display(description=_("demo"), label=DEMO_LABELS)
    def demo_flag(self, obj: Any) -> tuple[str, str] | str:
        value = obj
        for part in self.demo_field.split("__"):
            value = getattr(value, part)
        return ("demo", str(_("Demo"))) if value else ""
