"""The schedule pages. Every change goes through scheduling's services; pages only route.

Buttons that change something (run now, pause, resume, the global pause) open a confirmation page and
act on its POST, so no state changes on a GET.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import ChoicesDropdownFilter
from unfold.decorators import action, display

from config.admin_display import DemoColumnMixin
from config.exceptions import ServiceError
from kols.forms import TimesField
from scheduling import services
from scheduling.admin.display import RECENT_RUNS, RUN_LABELS, local_time
from scheduling.admin.workbench import TriggerWorkbenchMixin
from scheduling.dispatch import schedule_run_now
from scheduling.models import Schedule, ScheduleRun
from scheduling.selectors import schedule_preview, schedules_with_today
from scheduling.trigger_fields import (
    all_trigger_form_fields,
    trigger_field_conditions,
    trigger_form_clean,
    trigger_initial,
)
from scheduling.workbench import (
    ActiveKOLAutocomplete,
)


class ScheduleForm(forms.ModelForm):
    """Post times as HH:MM and the trigger's settings as a form built from its schema, not JSON."""

    post_times = TimesField(
        label=gettext_lazy("post times"), help_text=gettext_lazy("HH:MM, Asia/Taipei, e.g. 08:30, 13:45.")
    )

    class Meta:
        model = Schedule
        fields = [*services.EDITABLE_FIELDS, "kol_pool"]
        widgets = {"trigger_config": forms.HiddenInput}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.trigger_type:
            self.initial.update(trigger_initial(self.instance.trigger_type, self.instance.trigger_config))
        self.fields["trigger_config"].required = False

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        trigger_type = cleaned.get("trigger_type")
        if trigger_type:
            # Only the chosen type's fields count; a problem stands beside the setting it names.
            cleaned["trigger_config"] = trigger_form_clean(self, trigger_type, cleaned)
        if cleaned.get("status") == Schedule.Status.ACTIVE and not cleaned.get("kol_pool"):
            self.add_error("kol_pool", _("Add at least one KOL to the pool before activating the schedule."))
        return cleaned


# The trigger fields are declared on the class (the admin builds its form from the fieldsets' names).
ScheduleForm.declared_fields.update(all_trigger_form_fields())
ScheduleForm.base_fields.update(all_trigger_form_fields())
TRIGGER_FIELDS = list(all_trigger_form_fields())


@admin.register(Schedule)
class ScheduleAdmin(DemoColumnMixin, TriggerWorkbenchMixin, ModelAdmin):
    form = ScheduleForm
    list_display = [
        "name",
        "status_badge",
        "trigger_type",
        "days_rule",
        "next_run_local",
        "last_run_badge",
        "last_run_local",
        "runs_today",
        "skipped_today",
        "posts_today",
        "auto_approve",
        "demo_flag",
    ]
    list_filter = [
        "status",
        ("trigger_type", ChoicesDropdownFilter),
        "days_rule",
        "auto_approve",
        "missed_run_policy",
    ]
    # Schedule has no foreign key to join; the counts come from annotations (schedules_with_today).
    list_select_related = False
    search_fields = ["name", "description"]
    autocomplete_fields = ["kol_pool"]
    conditional_fields = trigger_field_conditions()
    readonly_fields = [
        "next_run_local",
        "last_run_local",
        "last_run_status",
        "runs_count",
        "posts_created_count",
        "recent_runs",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["name", "description", "status"]}),
        (
            gettext_lazy("What"),
            {"fields": ["trigger_type", *TRIGGER_FIELDS, "trigger_config", "post_type", "post_length"]},
        ),
        (
            gettext_lazy("Who"),
            {"fields": ["kol_pool", "allocation_strategy", "posts_per_run", "max_posts_per_day"]},
        ),
        (
            gettext_lazy("When"),
            {
                "fields": [
                    "post_times",
                    "use_best_hours",
                    "days_rule",
                    "missed_run_policy",
                    "missed_run_grace_minutes",
                ]
            },
        ),
        (
            gettext_lazy("Review and publishing"),
            {"fields": ["auto_approve", "auto_approve_min_quality", "publish_offset_minutes"]},
        ),
        (
            gettext_lazy("Runs"),
            {
                "fields": [
                    "next_run_local",
                    "last_run_local",
                    "last_run_status",
                    "runs_count",
                    "posts_created_count",
                    "recent_runs",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
    ]
    actions = ["run_now_selected", "pause_selected", "resume_selected"]
    actions_list = ["workbench", "pause_all", "resume_all"]
    actions_detail = [
        "preview_detail",
        "workbench_detail",
        "run_now_detail",
        "pause_detail",
        "resume_detail",
        "history_detail",
    ]

    def get_urls(self) -> list[URLPattern]:
        kols = ActiveKOLAutocomplete.as_view(admin_site=self.admin_site)
        return [
            path(
                "workbench/kols/", self.admin_site.admin_view(kols), name="scheduling_schedule_workbench_kols"
            ),
            *super().get_urls(),
        ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Schedule]:
        return schedules_with_today(super().get_queryset(request))

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        if services.scheduler_is_paused():
            messages.warning(
                request,
                _(
                    "Scheduling is paused globally: no schedule runs until it is resumed (each keeps its own status)."
                ),
            )
        return super().changelist_view(request, extra_context)

    # --- Columns ---------------------------------------------------------------------------------------

    @display(
        description=gettext_lazy("status"),
        ordering="status",
        label={"active": "success", "paused": "warning"},
    )
    def status_badge(self, obj: Schedule) -> tuple[str, str]:
        return obj.status, obj.get_status_display()

    @admin.display(description=gettext_lazy("next run (Asia/Taipei)"), ordering="next_run_at")
    def next_run_local(self, obj: Schedule) -> str:
        return local_time(obj.next_run_at)

    @admin.display(description=gettext_lazy("last run (Asia/Taipei)"), ordering="last_run_at")
    def last_run_local(self, obj: Schedule) -> str:
        return local_time(obj.last_run_at)

    @display(description=gettext_lazy("last run status"), ordering="last_run_status", label=RUN_LABELS)
    def last_run_badge(self, obj: Schedule) -> tuple[str, str]:
        statuses = dict(ScheduleRun.Status.choices)
        return obj.last_run_status, str(statuses.get(obj.last_run_status, obj.last_run_status or "—"))

    @admin.display(description=gettext_lazy("runs today"), ordering="runs_today")
    def runs_today(self, obj: Any) -> int:
        return int(obj.runs_today)

    @admin.display(description=gettext_lazy("skipped today"), ordering="skipped_today")
    def skipped_today(self, obj: Any) -> int:
        return int(obj.skipped_today)

    @admin.display(description=gettext_lazy("posts today"), ordering="posts_today")
    def posts_today(self, obj: Any) -> int:
        return int(obj.posts_today)

    @admin.display(description=gettext_lazy("recent runs"))
    def recent_runs(self, obj: Schedule) -> SafeString | str:
        if obj.pk is None:
            return "—"
        runs = ScheduleRun.objects.filter(schedule=obj).order_by("-slot_at", "-id")[:RECENT_RUNS]
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    reverse("admin:scheduling_schedulerun_change", args=[run.pk]),
                    local_time(run.slot_at),
                    run.get_kind_display(),
                    run.get_status_display(),
                    run.posts_created,
                    run.get_skip_reason_display() or run.message[:120],
                )
                for run in runs
            ),
        )
        history = reverse("admin:scheduling_schedulerun_changelist") + f"?schedule__id__exact={obj.pk}"
        return format_html(
            '<table class="kol-table"><tbody>{}</tbody></table><p><a href="{}">{}</a></p>',
            rows,
            history,
            _("Full run history"),
        )

    # --- Saving goes through the service (it computes the next run) -----------------------------------

    def save_model(self, request: HttpRequest, obj: Schedule, form: Any, change: bool) -> None:
        services.schedule_save(schedule=obj, pool=form.cleaned_data.get("kol_pool"))

    def delete_model(self, request: HttpRequest, obj: Schedule) -> None:
        services.schedule_delete(schedule=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        for schedule in queryset:
            services.schedule_delete(schedule=schedule)

    # --- Bulk actions ---------------------------------------------------------------------------------

    @admin.action(description=gettext_lazy("Run the selected schedules now"), permissions=["change"])
    def run_now_selected(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        for schedule in queryset:
            self._run_now(request, schedule)

    @admin.action(description=gettext_lazy("Pause the selected schedules"), permissions=["change"])
    def pause_selected(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        count = sum(services.schedule_pause(schedule=schedule) for schedule in queryset)
        self.message_user(request, _("%(count)d schedule(s) paused.") % {"count": count})

    @admin.action(description=gettext_lazy("Resume the selected schedules"), permissions=["change"])
    def resume_selected(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        for schedule in queryset:
            self._resume(request, schedule)

    # --- One schedule: buttons on its page ------------------------------------------------------------

    @action(description=gettext_lazy("Preview candidates"), url_path="preview", permissions=["view"])
    def preview_detail(self, request: HttpRequest, object_id: str) -> HttpResponse:
        schedule = get_object_or_404(Schedule, pk=object_id)
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "schedule": schedule,
        }
        context["title"] = _("Preview: %(name)s") % {"name": schedule.name}
        try:
            context["preview"] = schedule_preview(schedule=schedule)
        except ServiceError as exc:
            context["error"] = exc.message
        return TemplateResponse(request, "admin/scheduling/schedule/preview.html", context)

    @action(description=gettext_lazy("Open in the workbench"), url_path="workbench", permissions=["view"])
    def workbench_detail(self, request: HttpRequest, object_id: str) -> HttpResponse:
        url = reverse("admin:scheduling_schedule_workbench")
        return HttpResponseRedirect(f"{url}?schedule={int(object_id)}")

    @action(description=gettext_lazy("Run now"), url_path="run-now", permissions=["change"])
    def run_now_detail(self, request: HttpRequest, object_id: str) -> HttpResponse:
        schedule = get_object_or_404(Schedule, pk=object_id)
        if request.method != "POST":
            question = _(
                "Run %(name)s now? It uses the same trigger, caps and KOL limits as a scheduled run."
            )
            return self._confirm(request, _("Run now"), question % {"name": schedule.name}, schedule)
        run = self._run_now(request, schedule)
        if run is None:
            return self._back(schedule)
        return HttpResponseRedirect(reverse("admin:scheduling_schedulerun_change", args=[run.pk]))

    @action(description=gettext_lazy("Pause"), url_path="pause", permissions=["change"])
    def pause_detail(self, request: HttpRequest, object_id: str) -> HttpResponse:
        schedule = get_object_or_404(Schedule, pk=object_id)
        if request.method != "POST":
            question = _("Pause %(name)s? Its post times do not run until it is resumed.")
            return self._confirm(request, _("Pause"), question % {"name": schedule.name}, schedule)
        if services.schedule_pause(schedule=schedule):
            self.message_user(request, _("%(name)s paused.") % {"name": schedule.name})
        else:
            self.message_user(
                request, _("%(name)s was not active.") % {"name": schedule.name}, messages.WARNING
            )
        return self._back(schedule)

    @action(description=gettext_lazy("Resume"), url_path="resume", permissions=["change"])
    def resume_detail(self, request: HttpRequest, object_id: str) -> HttpResponse:
        schedule = get_object_or_404(Schedule, pk=object_id)
        if request.method != "POST":
            question = _(
                "Resume %(name)s from its next post time? Post times missed while paused are not made up."
            )
            return self._confirm(request, _("Resume"), question % {"name": schedule.name}, schedule)
        self._resume(request, schedule)
        return self._back(schedule)

    @action(description=gettext_lazy("Run history"), url_path="history", permissions=["view"])
    def history_detail(self, request: HttpRequest, object_id: str) -> HttpResponse:
        url = reverse("admin:scheduling_schedulerun_changelist")
        return HttpResponseRedirect(f"{url}?schedule__id__exact={int(object_id)}")

    # --- Every schedule: the global pause -------------------------------------------------------------

    @action(description=gettext_lazy("Pause all schedules"), url_path="pause-all", permissions=["change"])
    def pause_all(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            question = _(
                "Pause every schedule? Each keeps its own status, so resuming returns each to what it was."
            )
            return self._confirm(request, _("Pause all schedules"), question)
        if services.scheduler_pause(by=request.user):
            self.message_user(request, _("Scheduling paused globally."))
        else:
            self.message_user(request, _("Scheduling was already paused."), messages.WARNING)
        return HttpResponseRedirect(reverse("admin:scheduling_schedule_changelist"))

    @action(description=gettext_lazy("Resume all schedules"), url_path="resume-all", permissions=["change"])
    def resume_all(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            question = _(
                "Lift the global pause? Active schedules run from their next post time; paused ones stay paused."
            )
            return self._confirm(request, _("Resume all schedules"), question)
        if services.scheduler_resume(by=request.user):
            self.message_user(request, _("Global pause lifted; each schedule is back to its own status."))
        else:
            self.message_user(request, _("Scheduling was not paused."), messages.WARNING)
        return HttpResponseRedirect(reverse("admin:scheduling_schedule_changelist"))

    # --- Helpers --------------------------------------------------------------------------------------

    def _confirm(
        self, request: HttpRequest, title: str, question: str, schedule: Schedule | None = None
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "question": question,
            "schedule": schedule,
            "cancel_url": reverse("admin:scheduling_schedule_change", args=[schedule.pk])
            if schedule
            else reverse("admin:scheduling_schedule_changelist"),
        }
        return TemplateResponse(request, "admin/scheduling/schedule/confirm.html", context)

    def _back(self, schedule: Schedule) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:scheduling_schedule_change", args=[schedule.pk]))

    def _run_now(self, request: HttpRequest, schedule: Schedule) -> ScheduleRun | None:
        try:
            run = schedule_run_now(schedule=schedule, by=request.user)
        except ServiceError as exc:
            self.message_user(request, f"{schedule.name}: {exc.message}", messages.ERROR)
            return None
        level = messages.ERROR if run.status == ScheduleRun.Status.FAILED else messages.INFO
        outcome = run.message or run.get_status_display()
        self.message_user(request, f"{schedule.name}: {outcome}", level)
        return run

    def _resume(self, request: HttpRequest, schedule: Schedule) -> None:
        try:
            resumed = services.schedule_resume(schedule=schedule)
        except ServiceError as exc:
            self.message_user(request, f"{schedule.name}: {exc.message}", messages.ERROR)
            return
        if resumed:
            when = local_time(schedule.next_run_at)
            self.message_user(
                request, _("%(name)s resumed; next run %(when)s.") % {"name": schedule.name, "when": when}
            )
