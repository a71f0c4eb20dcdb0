"""The trigger workbench: preview any trigger without a schedule, then start a batch from exactly that
preview. A mixin of the schedule admin, whose page it lives on.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.decorators import action
from unfold.enums import ActionVariant

from config.exceptions import ServiceError
from posting.models import GenerationBatch
from scheduling.admin.display import START_PERMISSION
from scheduling.models import Schedule
from scheduling.workbench import (
    WorkbenchForm,
    WorkbenchPreview,
    workbench_display,
    workbench_generate,
    workbench_initial,
    workbench_preview,
    workbench_seed,
)


class TriggerWorkbenchMixin:
    """Adds the workbench page (an unfold action view) to the schedule admin."""

    admin_site: Any
    opts: Any
    media: Any
    message_user: Any

    # --- Any trigger, without a schedule: preview, then generate ------------------------------------

    @action(
        description=gettext_lazy("Trigger workbench"),
        url_path="workbench",
        permissions=["view"],
        icon="science",
        variant=ActionVariant.PRIMARY,
    )
    def workbench(self, request: HttpRequest) -> HttpResponse:
        generate = request.method == "POST" and "_generate" in request.POST
        if generate and not request.user.has_perm(START_PERMISSION):
            raise PermissionDenied
        if request.method == "POST":
            form = WorkbenchForm(request.POST, admin_site=self.admin_site)
        else:
            form = WorkbenchForm(initial=self._workbench_initial(request), admin_site=self.admin_site)
        preview = None
        if form.is_bound and form.is_valid():
            preview = self._workbench_preview(form, generate)
            batch = self._workbench_generate(request, form, preview) if generate and preview else None
            if batch is not None:
                return HttpResponseRedirect(reverse("admin:posting_generationbatch_change", args=[batch.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Trigger workbench"),
            "form": form,
            "media": self.media + form.media,
            "preview": workbench_display(preview) if preview else None,
            "can_generate": request.user.has_perm(START_PERMISSION),
            "selected_type": form["trigger_type"].value(),
        }
        return TemplateResponse(request, "admin/scheduling/schedule/workbench.html", context)

    def _workbench_initial(self, request: HttpRequest) -> dict[str, Any]:
        schedule_id = request.GET.get("schedule", "")
        schedule = Schedule.objects.filter(pk=schedule_id).first() if schedule_id.isdigit() else None
        return workbench_initial(schedule) if schedule else {}

    def _workbench_preview(self, form: WorkbenchForm, generate: bool) -> WorkbenchPreview | None:
        # "Generate" must allocate with the seed the preview showed; a preview draws a new one.
        carried = form.cleaned_data["seed"]
        seed = carried if generate and carried is not None else workbench_seed()
        try:
            return workbench_preview(spec=form.spec(seed))
        except ServiceError as error:
            form.add_service_error(error)
            return None

    def _workbench_generate(
        self, request: HttpRequest, form: WorkbenchForm, preview: WorkbenchPreview
    ) -> GenerationBatch | None:
        try:
            batch, started = workbench_generate(
                preview=preview, fingerprint=form.cleaned_data["fingerprint"], requested_by=request.user
            )
        except ServiceError as error:
            form.add_service_error(error)
            return None
        if started:
            message = _("Batch #%(id)s started with %(count)d drafts; they land in the review queue.")
            self.message_user(request, message % {"id": batch.pk, "count": batch.requested_count})
        else:
            message = _("This preview was already generated as batch #%(id)s; nothing new was started.")
            self.message_user(request, message % {"id": batch.pk}, messages.WARNING)
        return batch
