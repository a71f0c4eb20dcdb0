"""The batch pages of the admin: the list, a batch's live progress, and "start a batch".

The batch page follows ``GET /api/batches/{id}/events`` with a few lines of EventSource in its template;
starting and cancelling call the services in posting/generation/batches.py, like the API and schedules do.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.admin import ModelAdmin
from unfold.decorators import display

from config.admin_display import DemoColumnMixin
from config.exceptions import ServiceError
from kols.models import KOL, PostType
from market.models import Stock
from posting.generation.batches import batch_cancel, batch_progress, batch_start
from posting.generation.prompts import PostLength
from posting.llm.config import llm_is_configured
from posting.models import BatchItem, GenerationBatch
from posting.tags import TagError, bare_stock_code

START_PERMISSION = "posting.add_generationbatch"


class BatchStartForm(forms.Form):
    """Every chosen KOL writes about every chosen stock."""

    kols = forms.ModelMultipleChoiceField(
        label=gettext_lazy("KOLs"),
        queryset=KOL.objects.filter(status=KOL.Status.ACTIVE).order_by("nickname"),
        widget=forms.CheckboxSelectMultiple,
    )
    stock_codes = forms.CharField(
        label=gettext_lazy("Stock codes"),
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "2330 2317 2454"}),
        help_text=gettext_lazy("Separated by spaces, commas or new lines."),
    )
    post_type = forms.ChoiceField(label=gettext_lazy("Post type"), choices=PostType.choices)
    length = forms.ChoiceField(
        label=gettext_lazy("Length"), choices=PostLength.choices, initial=PostLength.MEDIUM
    )
    writer = forms.ChoiceField(
        label=gettext_lazy("Writer"),
        choices=[
            ("", gettext_lazy("Automatic (the LLM when configured)")),
            ("llm", gettext_lazy("LLM")),
            ("template", gettext_lazy("Template writer")),
        ],
        required=False,
    )
    trigger_reasons = forms.CharField(
        label=gettext_lazy("Why these stocks (optional)"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text=gettext_lazy("One reason per line; the writer may use them."),
    )

    def clean_stock_codes(self) -> list[str]:
        raw = self.cleaned_data["stock_codes"].replace(",", " ").replace("，", " ").split()
        try:
            codes = list(dict.fromkeys(bare_stock_code(code) for code in raw))
        except TagError as error:
            raise forms.ValidationError(error.message) from error
        known = set(Stock.objects.filter(code__in=codes).values_list("code", flat=True))
        unknown = [code for code in codes if code not in known]
        if unknown:
            raise forms.ValidationError(_("Unknown stock code %(codes)s.") % {"codes": ", ".join(unknown)})
        if not codes:
            raise forms.ValidationError(_("Give at least one stock code."))
        return codes

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kols") and data.get("stock_codes"):
            count = len(data["kols"]) * len(data["stock_codes"])
            if count > settings.GENERATION_MAX_BATCH_ITEMS:
                raise forms.ValidationError(
                    _("A batch may ask for at most %(max)d drafts; this one asks for %(count)d.")
                    % {"max": settings.GENERATION_MAX_BATCH_ITEMS, "count": count}
                )
        return data

    def batch_items(self) -> list[dict[str, Any]]:
        reasons = [line.strip() for line in self.cleaned_data["trigger_reasons"].splitlines() if line.strip()]
        return [
            {"kol_id": kol.pk, "stock_code": code, "trigger_type": "manual", "trigger_reasons": reasons}
            for kol in self.cleaned_data["kols"]
            for code in self.cleaned_data["stock_codes"]
        ]


class BatchAdmin(DemoColumnMixin, ModelAdmin):
    list_display = [
        "id",
        "source",
        "status_badge",
        "progress_display",
        "post_type",
        "writer",
        "requested_by",
        "created_at",
        "finished_at",
        "demo_flag",
    ]
    list_filter = ["source", "status", "writer"]
    list_select_related = ["requested_by"]
    search_fields = ["source_ref"]
    show_full_result_count = False
    change_form_template = "admin/posting/generationbatch/progress.html"

    @display(
        description=gettext_lazy("status"),
        ordering="status",
        label={"queued": "info", "running": "warning", "finished": "success", "failed": "danger"},
    )
    def status_badge(self, obj: GenerationBatch) -> tuple[str, str]:
        return obj.status, obj.get_status_display()

    @display(description=gettext_lazy("progress"))
    def progress_display(self, obj: GenerationBatch) -> str:
        progress = batch_progress(obj)
        return _("%(done)d / %(total)d (%(failed)d failed)") % progress

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(START_PERMISSION))

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # nothing on a batch is edited; it is started, followed and cancelled

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return bool(request.user.is_superuser)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("start/", view(self.start_view), name="posting_generationbatch_start"),
            path("<int:object_id>/cancel/", view(self.cancel_view), name="posting_generationbatch_cancel"),
            *super().get_urls(),
        ]

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:posting_generationbatch_start"))

    # --- Start a batch ------------------------------------------------------------------------------

    def start_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            return HttpResponseRedirect(reverse("admin:posting_generationbatch_changelist"))
        form = BatchStartForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            batch = self._start(request, form)
            if batch is not None:
                self.message_user(
                    request, _("Batch #%(id)s started: it runs in the worker.") % {"id": batch.pk}
                )
                return HttpResponseRedirect(reverse("admin:posting_generationbatch_change", args=[batch.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Start a generation batch"),
            "opts": self.opts,
            "form": form,
            "llm_configured": llm_is_configured(),
            "max_items": settings.GENERATION_MAX_BATCH_ITEMS,
        }
        return TemplateResponse(request, "admin/posting/generationbatch/start.html", context)

    def _start(self, request: HttpRequest, form: BatchStartForm) -> GenerationBatch | None:
        try:
            return batch_start(
                source=GenerationBatch.Source.MANUAL,
                requested_by=request.user,
                items=form.batch_items(),
                post_type=form.cleaned_data["post_type"],
                length=form.cleaned_data["length"],
                writer=form.cleaned_data["writer"],
            )
        except ServiceError as error:
            for field, problems in error.fields.items():
                form.add_error(field if field in form.fields else None, problems)
            if not error.fields:
                form.add_error(None, error.message)
            return None

    # --- A batch ------------------------------------------------------------------------------------

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        batch = self.get_object(request, object_id)
        if batch is None or not self.has_view_permission(request, batch):
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        items: QuerySet[BatchItem] = batch.items.select_related("kol", "stock").order_by("position")
        context = {
            **self.admin_site.each_context(request),
            "title": _("Generation batch #%(id)s") % {"id": batch.pk},
            "opts": self.opts,
            "original": batch,
            "batch": batch,
            "progress": batch_progress(batch),
            "items": items,
            "events_url": reverse("batch-events", kwargs={"pk": batch.pk}),
            "drafts_url": reverse("admin:posting_post_changelist")
            + f"?status=all&batch__id__exact={batch.pk}",
            "post_url_prefix": reverse("admin:posting_post_changelist"),
            "can_cancel": self.has_add_permission(request)
            and batch.status in (GenerationBatch.Status.QUEUED, GenerationBatch.Status.RUNNING),
        }
        return TemplateResponse(request, self.change_form_template, context)

    def cancel_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        batch = get_object_or_404(GenerationBatch, pk=object_id)
        back = HttpResponseRedirect(reverse("admin:posting_generationbatch_change", args=[batch.pk]))
        if request.method != "POST" or not self.has_add_permission(request):
            return back
        try:
            batch_cancel(batch=batch, by=request.user)
        except ServiceError as error:
            self.message_user(request, error.message, level=messages.ERROR)
            return back
        self.message_user(request, _("Cancelled: pending drafts will not be generated; running ones finish."))
        return back
