"""The run history of schedules: read-only, written by the dispatcher and "run now"."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import AutocompleteSelectFilter, ChoicesDropdownFilter, RangeDateFilter
from unfold.decorators import display

from scheduling.admin.display import RUN_LABELS, local_time
from scheduling.admin.run_tables import (
    assignments_table,
    candidates_table,
    excluded_table,
    review_table,
    skipped_table,
)
from scheduling.models import ScheduleRun


@admin.register(ScheduleRun)
class ScheduleRunAdmin(ModelAdmin):
    """The run history: read-only, written by the dispatcher and "run now"."""

    list_display = [
        "slot_local",
        "schedule",
        "kind",
        "status_badge",
        "skip_reason",
        "candidate_count",
        "posts_created",
        "auto_approved",
        "batch",
        "started_at",
        "finished_at",
    ]
    list_filter = [
        ("schedule", AutocompleteSelectFilter),
        "status",
        "kind",
        ("skip_reason", ChoicesDropdownFilter),
        ("slot_at", RangeDateFilter),
    ]
    list_filter_submit = True
    list_select_related = ["schedule", "batch"]
    search_fields = ["schedule__name", "slot", "message"]
    show_full_result_count = False
    date_hierarchy = "slot_at"
    ordering = ["-slot_at", "-id"]
    # The run page: what happened in words and tables; the recorded JSON is never shown raw.
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "schedule",
                    "slot_local",
                    "kind",
                    "status",
                    "skip_reason",
                    "message",
                    "requested_by",
                    "started_local",
                    "finished_local",
                    "trigger_as_of",
                    "batch",
                    "posts_created",
                    "auto_approved",
                ]
            },
        ),
        (gettext_lazy("Candidates"), {"fields": ["candidates_shown", "excluded_shown"]}),
        (gettext_lazy("Allocation"), {"fields": ["assignments_shown", "skipped_shown"]}),
        (gettext_lazy("Auto-approve"), {"fields": ["review_shown"]}),
    ]
    readonly_fields = [
        "slot_local",
        "status_badge",
        "started_local",
        "finished_local",
        "candidates_shown",
        "excluded_shown",
        "assignments_shown",
        "skipped_shown",
        "review_shown",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ScheduleRun]:
        # The list needs no recorded outcome; the run page loads it when it shows it.
        return super().get_queryset(request).defer("allocation_skipped", "review")

    @admin.display(description=gettext_lazy("slot (Asia/Taipei)"), ordering="slot_at")
    def slot_local(self, obj: ScheduleRun) -> str:
        return obj.slot if obj.kind == ScheduleRun.Kind.MANUAL else local_time(obj.slot_at)

    @display(description=gettext_lazy("status"), ordering="status", label=RUN_LABELS)
    def status_badge(self, obj: ScheduleRun) -> tuple[str, str]:
        return obj.status, obj.get_status_display()

    @admin.display(description=gettext_lazy("candidates"))
    def candidate_count(self, obj: ScheduleRun) -> int:
        return len(obj.candidates or [])

    @admin.display(description=gettext_lazy("started (Asia/Taipei)"))
    def started_local(self, obj: ScheduleRun) -> str:
        return local_time(obj.started_at)

    @admin.display(description=gettext_lazy("finished (Asia/Taipei)"))
    def finished_local(self, obj: ScheduleRun) -> str:
        return local_time(obj.finished_at)

    @admin.display(description=gettext_lazy("candidates"))
    def candidates_shown(self, obj: ScheduleRun) -> SafeString:
        return candidates_table(obj.candidates)

    @admin.display(description=gettext_lazy("left out by the trigger"))
    def excluded_shown(self, obj: ScheduleRun) -> SafeString:
        return excluded_table(obj.trigger_excluded)

    @admin.display(description=gettext_lazy("assignments"))
    def assignments_shown(self, obj: ScheduleRun) -> SafeString:
        return assignments_table(obj.assignments, obj.candidates)

    @admin.display(description=gettext_lazy("candidates no KOL took"))
    def skipped_shown(self, obj: ScheduleRun) -> SafeString:
        return skipped_table(obj.allocation_skipped, obj.candidates)

    @admin.display(description=gettext_lazy("auto-approve outcome"))
    def review_shown(self, obj: ScheduleRun) -> SafeString:
        return review_table(obj.review)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
