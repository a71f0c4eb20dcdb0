"""The services that change prompt templates: activate one, copy one into a new version.

What a template may contain and how it renders is kols/prompt_syntax.py.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from kols.models import PromptTemplate
from kols.prompt_syntax import prompt_sources_validate

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@transaction.atomic
def prompt_template_activate(*, template: PromptTemplate) -> PromptTemplate:
    """Make ``template`` the one active template of its post type (the previous one is deactivated)."""
    prompt_sources_validate(system_prompt=template.system_prompt, user_prompt=template.user_prompt)
    # Lock every template of the type so two concurrent activations queue instead of both deactivating
    # the others and then colliding on the one-active constraint.
    list(PromptTemplate.objects.select_for_update().filter(post_type=template.post_type).order_by("pk"))
    PromptTemplate.objects.filter(post_type=template.post_type, is_active=True).exclude(
        pk=template.pk
    ).update(is_active=False)
    PromptTemplate.objects.filter(pk=template.pk).update(
        is_active=True, activated_at=Coalesce("activated_at", Value(timezone.now()))
    )
    template.refresh_from_db()
    return template


def _next_version(post_type: str) -> str:
    pattern = re.compile(rf"^{re.escape(post_type)}-v(\d+)$")
    versions = PromptTemplate.objects.filter(version__startswith=f"{post_type}-v").values_list(
        "version", flat=True
    )
    numbers = [int(match.group(1)) for version in versions if (match := pattern.match(version))]
    return f"{post_type}-v{max(numbers, default=0) + 1}"


def prompt_template_copy(*, template: PromptTemplate, by: User | None) -> PromptTemplate:
    """An inactive, editable copy under the next free version name (``analysis-v3`` -> ``analysis-v4``)."""
    return PromptTemplate.objects.create(
        post_type=template.post_type,
        version=_next_version(template.post_type),
        system_prompt=template.system_prompt,
        user_prompt=template.user_prompt,
        notes=_("Copied from %(version)s.") % {"version": template.version},
        created_by=by,
    )
