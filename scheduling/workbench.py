"""The trigger workbench: try any trigger on a KOL pool without a schedule, then start its batch.

The preview only reads, with the same calls a schedule run makes (``trigger_evaluate``, then
``kols_allocate``). Generating evaluates and allocates again with the previewed seed, and refuses when
the outcome differs from what was shown (new posts, new quotes, an edited form): the batch holds exactly
the previewed assignments, or nothing is started, and one preview starts at most one batch. The admin
page (ScheduleAdmin.workbench) only routes; its form and KOL picker are at the end of this module.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin import AdminSite
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.widgets import (
    INPUT_CLASSES,
    SELECT_CLASSES,
    UnfoldAdminIntegerFieldWidget,
    UnfoldAdminSelectWidget,
)

from config.exceptions import ConflictError, ServiceError
from kols.models import KOL, PostType
from posting.generation.batches import batch_start
from posting.generation.prompts import PostLength
from posting.models import GenerationBatch
from scheduling.allocation import AllocationResult, kols_allocate
from scheduling.generation import generation_item
from scheduling.models import Schedule
from scheduling.reason_labels import reason_text, reasons_text
from scheduling.trigger_fields import (
    all_trigger_form_fields,
    trigger_error_field,
    trigger_field_name,
    trigger_form_clean,
    trigger_form_fields,
    trigger_initial,
)
from scheduling.trigger_types import TriggerType
from scheduling.triggers import TriggerConfigError, TriggerResult, trigger_evaluate
from scheduling.triggers.config import trigger_config_clean

# A page of exclusions is plenty to see why; the counts by reason cover the rest.
EXCLUSIONS_SHOWN = 100


class WorkbenchChanged(ConflictError):
    code = "workbench_changed"


class NothingToGenerate(ServiceError):
    code = "nothing_to_generate"


def workbench_seed() -> int:
    """A fresh seed for the random strategy; the page carries it from the preview to "generate"."""
    return secrets.randbelow(2**63)


@dataclass(frozen=True)
class WorkbenchSpec:
    """What the workbench form asked for."""

    trigger_type: str
    config: dict[str, Any]
    as_of: dt.date | None
    kols: Sequence[KOL]
    strategy: str
    max_drafts: int
    post_type: str
    length: str
    seed: int


@dataclass(frozen=True)
class WorkbenchPreview:
    spec: WorkbenchSpec
    trigger: TriggerResult
    allocation: AllocationResult

    @property
    def fingerprint(self) -> str:
        """Everything the batch would be made of; equal fingerprints mean equal batches."""
        spec = self.spec
        content = {
            "trigger_type": spec.trigger_type,
            "config": spec.config,
            "as_of": spec.as_of,
            "kols": [kol.pk for kol in spec.kols],
            "strategy": spec.strategy,
            "max_drafts": spec.max_drafts,
            "post_type": spec.post_type,
            "length": spec.length,
            "seed": spec.seed,
            "items": self.items(),
        }
        encoded = json.dumps(content, sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(encoded.encode()).hexdigest()

    def items(self) -> list[dict[str, Any]]:
        return [generation_item(assignment) for assignment in self.allocation.assignments]


def workbench_preview(*, spec: WorkbenchSpec, now: dt.datetime | None = None) -> WorkbenchPreview:
    """Evaluate the trigger and allocate the pool, writing nothing.

    Raises the trigger's errors (TriggerConfigError, TriggerDataMissing, ...) and AllocationError, each
    a ServiceError naming what is wrong or missing.
    """
    trigger = trigger_evaluate(trigger_type=spec.trigger_type, config=spec.config, as_of=spec.as_of)
    allocation = kols_allocate(
        candidates=trigger.candidates,
        pool=spec.kols,
        strategy=spec.strategy,
        seed=spec.seed,
        max_assignments=spec.max_drafts,
        now=now,
    )
    return WorkbenchPreview(spec=spec, trigger=trigger, allocation=allocation)


def workbench_generate(
    *, preview: WorkbenchPreview, fingerprint: str, requested_by: Any
) -> tuple[GenerationBatch, bool]:
    """Start the batch of ``preview``'s assignments if it is still what the user saw (``fingerprint``).

    One preview starts at most one batch: generating it again returns that batch, with False. Drafts
    land in the review queue; nothing is approved or published.
    """
    if not fingerprint:
        raise WorkbenchChanged(_("Preview first: check what would be generated, then generate."))
    spec = preview.spec
    source_ref = f"workbench:{spec.trigger_type}:{fingerprint}"
    with transaction.atomic():
        # A second click on the same preview waits here until the first commits, then finds its batch.
        list(KOL.objects.select_for_update().filter(pk__in=[kol.pk for kol in spec.kols]).values_list("pk"))
        started = GenerationBatch.objects.filter(
            source=GenerationBatch.Source.MANUAL, source_ref=source_ref
        ).first()
        if started is not None:
            return started, False
        if preview.fingerprint != fingerprint:
            raise WorkbenchChanged(
                _(
                    "The outcome differs from the preview you saw (the form, the market data or the KOLs' "
                    "recent posts changed). Check the new preview below, then generate again."
                )
            )
        items = preview.items()
        if not items:
            raise NothingToGenerate(_("No KOL would be assigned, so there is nothing to generate."))
        batch = batch_start(
            source=GenerationBatch.Source.MANUAL,
            source_ref=source_ref,
            requested_by=requested_by,
            items=items,
            post_type=spec.post_type,
            length=spec.length,
        )
    return batch, True


def workbench_initial(schedule: Schedule) -> dict[str, Any]:
    """A schedule's trigger, active pool and post settings, as the workbench's starting point."""
    return {
        "trigger_type": schedule.trigger_type,
        **trigger_initial(schedule.trigger_type, schedule.trigger_config),
        "kols": schedule.kol_pool.filter(status=KOL.Status.ACTIVE),
        "strategy": schedule.allocation_strategy,
        "max_drafts": schedule.posts_per_run,
        "post_type": schedule.post_type,
        "length": schedule.post_length,
    }


# --- What the page shows -------------------------------------------------------------------------------


def _facts(reasons: Sequence[dict[str, Any]]) -> str:
    """Reasons in words, one line: each code's label with its figures (scheduling/reason_labels.py)."""
    return reasons_text(reasons)


def _blocked(entries: Sequence[dict[str, Any]]) -> str:
    return "；".join(f"{entry.get('kol', '')}：{reason_text(entry)}" for entry in entries)


def workbench_display(preview: WorkbenchPreview) -> dict[str, Any]:
    """The preview as plain data for the page, each reason spelled out with its numbers."""
    trigger = preview.trigger.as_dict()
    for candidate in trigger["candidates"]:
        candidate["facts"] = _facts(candidate["reasons"])
    excluded = trigger["excluded"]
    trigger["excluded"] = excluded[:EXCLUSIONS_SHOWN]
    trigger["excluded_more"] = max(len(excluded) - EXCLUSIONS_SHOWN, 0)
    allocation = preview.allocation.as_dict()
    for assignment in allocation["assignments"]:
        assignment["facts"] = _facts(assignment["reasons"])
    for skip in allocation["skipped"]:
        skip["facts"] = _blocked(skip["blocked"])
    return {
        "trigger": trigger,
        "allocation": allocation,
        "seed": preview.spec.seed,
        "fingerprint": preview.fingerprint,
    }


# --- The admin page's form -----------------------------------------------------------------------------

# Where a service's error about a field belongs on the workbench form.
WORKBENCH_FIELDS = {
    "trigger_type": "trigger_type",
    "allocation_strategy": "strategy",
    "post_type": "post_type",
    "length": "length",
}


class ActiveKOLAutocomplete(AutocompleteJsonView):
    """The workbench's KOL picker: the KOL admin's search and view permission, active KOLs only."""

    def process_request(self, request: HttpRequest) -> tuple[str, Any, Any, str]:
        assert self.admin_site is not None
        kol_admin = self.admin_site.get_model_admin(KOL)
        return request.GET.get("term", ""), kol_admin, Schedule._meta.get_field("kol_pool"), "pk"

    def get_queryset(self) -> QuerySet[KOL]:
        return super().get_queryset().filter(status=KOL.Status.ACTIVE).order_by("nickname", "pk")


class KOLPicker(AutocompleteSelectMultiple):
    """Loads only the chosen KOLs with the page and searches the rest, so hundreds of KOLs stay fast."""

    def get_url(self) -> str:
        return reverse(f"{self.admin_site.name}:scheduling_schedule_workbench_kols")


def _error_count(form: forms.Form) -> int:
    return sum(len(errors) for errors in form.errors.values())


class WorkbenchForm(forms.Form):
    """Any trigger on any pool of active KOLs; the hidden seed and fingerprint come from the preview."""

    trigger_type = forms.ChoiceField(
        label=gettext_lazy("Trigger"),
        choices=TriggerType.choices,
        initial=TriggerType.TOP_GAINERS,
        widget=UnfoldAdminSelectWidget,
    )
    as_of = forms.DateField(
        label=gettext_lazy("As of (trading day)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "class": " ".join(INPUT_CLASSES)}, format="%Y-%m-%d"),
        help_text=gettext_lazy("Empty: the latest day with quotes stored."),
    )
    strategy = forms.ChoiceField(
        label=gettext_lazy("Allocation"),
        choices=Schedule.Allocation.choices,
        initial=Schedule.Allocation.ROUND_ROBIN,
        widget=UnfoldAdminSelectWidget,
    )
    post_type = forms.ChoiceField(
        label=gettext_lazy("Post type"), choices=PostType.choices, widget=UnfoldAdminSelectWidget
    )
    length = forms.ChoiceField(
        label=gettext_lazy("Length"),
        choices=PostLength.choices,
        initial=PostLength.MEDIUM,
        widget=UnfoldAdminSelectWidget,
    )
    seed = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)
    fingerprint = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args: Any, admin_site: AdminSite, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(all_trigger_form_fields())
        self.fields[trigger_field_name(TriggerType.TOP_GAINERS, ["limit"])].initial = 5
        # Built per form: the picker searches through this admin site, the cap follows the settings.
        picker = KOLPicker(
            Schedule._meta.get_field("kol_pool"), admin_site, attrs={"class": " ".join(SELECT_CLASSES)}
        )
        self.fields["kols"] = forms.ModelMultipleChoiceField(
            label=gettext_lazy("KOL pool"),
            queryset=KOL.objects.filter(status=KOL.Status.ACTIVE),
            widget=picker,
            help_text=gettext_lazy(
                "Active KOLs; type to search. Fixed and round robin offer each candidate to them in the "
                "order they were created."
            ),
        )
        self.fields["max_drafts"] = forms.IntegerField(
            label=gettext_lazy("Max drafts"),
            min_value=1,
            max_value=settings.GENERATION_MAX_BATCH_ITEMS,
            initial=5,
            widget=UnfoldAdminIntegerFieldWidget,
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        trigger_type = data.get("trigger_type")
        if trigger_type:
            # The chosen type's settings only; each problem stands beside the setting it names.
            before = _error_count(self)
            data["config"] = trigger_form_clean(self, trigger_type, data)
            if _error_count(self) == before:
                try:
                    trigger_config_clean(trigger_type, data["config"])
                except TriggerConfigError as error:
                    self.add_service_error(error)
        return data

    def trigger_fields(self) -> list[tuple[str, list[forms.BoundField]]]:
        """Each trigger type with its settings' fields, for the page to show the chosen type's only."""
        return [(value, [self[name] for name in trigger_form_fields(value)]) for value in TriggerType.values]

    def add_service_error(self, error: ServiceError) -> None:
        """A service's errors beside the fields they name; the rest above the form.

        A trigger setting's problem ("stock_codes: 9999") goes beside that setting's field.
        """
        placed = False
        trigger_type = self.cleaned_data.get("trigger_type", "")
        for name, problems in error.fields.items():
            for problem in problems:
                field = WORKBENCH_FIELDS.get(name)
                if name == "trigger_config":
                    field = trigger_error_field(trigger_type, problem, self.fields) or "trigger_type"
                if field is not None:
                    self.add_error(field, problem)
                    placed = True
        if not placed:
            self.add_error(None, error.message)

    def spec(self, seed: int) -> WorkbenchSpec:
        data = self.cleaned_data
        return WorkbenchSpec(
            trigger_type=data["trigger_type"],
            config=data["config"],
            as_of=data["as_of"],
            kols=list(data["kols"].order_by("pk")),
            strategy=data["strategy"],
            max_drafts=data["max_drafts"],
            post_type=data["post_type"],
            length=data["length"],
            seed=seed,
        )
