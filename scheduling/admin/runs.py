"""The run history of schedules: read-only, written by the dispatcher and "run now"."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import AutocompleteSelectFilter, ChoicesDropdownFilter, RangeDateFilter
from unfold.decorators import display

from scheduling.admin.display import RUN_LABELS, local_time
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

    def get_queryset(self, request: HttpRequest) -> QuerySet[ScheduleRun]:
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
