from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.formats import date_format
from django.utils.safestring import SafeString
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from unfold.admin import ModelAdmin

from analytics.analysis.scope import MAX_DAYS, Scope
from analytics.dashboards import BUILDERS, SECTIONS, table_csv
from analytics.inputs import InvalidInput, csv_rows, snapshots_import
from analytics.models import (
    AnalysisResult,
    CollectionStop,
    InteractionSnapshot,
    KOLSnapshot,
    ScoreFormula,
    SnapshotClaim,
)
from analytics.scoring import score_formula_activate, score_formula_create
from analytics.services import snapshot_refresh
from config.admin_data import data_table
from config.admin_display import DemoColumnMixin
from config.exceptions import ServiceError
from kols.models import KOL, Persona
from posting.models import Post

MAX_CSV_BYTES = 5 * 1024 * 1024


class _ReadOnly(ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class CSVUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy(
            "Header: post, captured_at, then any of likes, comments, shares, saves, tips, views, slot. "
            "One bad row stores nothing."
        ),
    )


@admin.register(InteractionSnapshot)
class InteractionSnapshotAdmin(DemoColumnMixin, _ReadOnly):
    list_display = [
        "post",
        "captured_at",
        "slot",
        "late",
        "source",
        "likes",
        "comments",
        "shares",
        "saves",
        "tips",
        "views",
        "score",
        "demo_flag",
    ]
    list_filter = ["slot", "late", "source"]
    list_select_related = ["post"]
    search_fields = ["post__title", "post__platform_post_id"]
    date_hierarchy = "captured_at"
    show_full_result_count = False
    readonly_fields = [
        "post", "captured_at", "slot", "age_seconds", "late", "source", "likes", "comments", "shares", "saves",
        "tips", "views", "reactions_shown", "score", "score_formula_version", "created_by",
    ]  # fmt: skip
    exclude = ["raw", "reactions"]

    @admin.display(description=gettext_lazy("reactions by type"))
    def reactions_shown(self, obj: InteractionSnapshot) -> SafeString | str:
        return data_table(obj.reactions)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("import/", view(self.import_view), name="analytics_interactionsnapshot_import"),
            path(
                "refresh/<uuid:post_id>/",
                view(self.refresh_view),
                name="analytics_interactionsnapshot_refresh",
            ),
            *super().get_urls(),
        ]

    def _require_add(self, request: HttpRequest) -> None:
        if not request.user.has_perm("analytics.add_interactionsnapshot"):
            raise PermissionDenied

    def refresh_view(self, request: HttpRequest, post_id: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        self._require_add(request)
        post = get_object_or_404(Post, pk=post_id)
        try:
            snapshot_refresh(post=post, by=request.user)
        except ServiceError as error:
            self.message_user(request, error.message, messages.ERROR)
        else:
            self.message_user(request, _("Counts read now and added as a new snapshot."))
        return HttpResponseRedirect(reverse("admin:posting_post_change", args=[post.pk]) + "#interactions")

    def import_view(self, request: HttpRequest) -> HttpResponse:
        self._require_add(request)
        form = CSVUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            created = self._import(request, form)
            if created is not None:
                self.message_user(
                    request,
                    ngettext("%(count)d snapshot imported.", "%(count)d snapshots imported.", created)
                    % {"count": created},
                )
                return HttpResponseRedirect(reverse("admin:analytics_interactionsnapshot_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import interaction snapshots (CSV)"),
            "opts": self.opts,
            "form": form,
        }
        return TemplateResponse(request, "admin/analytics/import_csv.html", context)

    def _import(self, request: HttpRequest, form: CSVUploadForm) -> int | None:
        upload = form.cleaned_data["file"]
        if upload.size > MAX_CSV_BYTES:
            form.add_error("file", _("The file is larger than 5 MB; split it."))
            return None
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            form.add_error("file", _("The file is not UTF-8 text."))
            return None
        try:
            return len(
                snapshots_import(rows=csv_rows(text), source=InteractionSnapshot.Source.CSV, by=request.user)
            )
        except InvalidInput as invalid:
            form.add_error("file", invalid.message)
            for key, problems in list(invalid.fields.items())[:50]:
                form.add_error(None, f"{key}: {' '.join(problems)}")
            return None


class ScoreFormulaForm(forms.ModelForm):
    class Meta:
        model = ScoreFormula
        fields = ["likes_weight", "comments_weight", "shares_weight", "saves_weight", "tips_weight", "notes"]


@admin.register(ScoreFormula)
class ScoreFormulaAdmin(ModelAdmin):
    """Administrators add a new version (never edit one); the new one becomes active and rescores."""

    form = ScoreFormulaForm
    list_display = ["version", "is_active", "formula", "rescoring", "created_by", "created_at"]
    list_select_related = ["created_by"]
    actions = ["activate_selected"]

    @admin.display(description=gettext_lazy("formula"))
    def formula(self, obj: ScoreFormula) -> str:
        return obj.describe()

    @admin.display(description=gettext_lazy("scores"))
    def rescoring(self, obj: ScoreFormula) -> str:
        if obj.rescored_at is not None:
            return _("all recomputed at %(at)s") % {
                "at": date_format(localtime(obj.rescored_at), "Y-m-d H:i")
            }
        if obj.is_active:
            return _("being recomputed in the background")
        return "—"

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def response_add(
        self, request: HttpRequest, obj: ScoreFormula, post_url_continue: str | None = None
    ) -> Any:
        self.message_user(
            request,
            _(
                "Version %(version)s is active. Every score is being recomputed with it in the background;"
                " the list shows when that is done."
            )
            % {"version": obj.version},
        )
        return HttpResponseRedirect(reverse("admin:analytics_scoreformula_changelist"))

    def save_model(self, request: HttpRequest, obj: ScoreFormula, form: Any, change: bool) -> None:
        weights = {name: form.cleaned_data[f"{name}_weight"] for name in ScoreFormula.WEIGHTS}
        created = score_formula_create(weights=weights, notes=form.cleaned_data["notes"], by=request.user)
        obj.pk, obj.version, obj.is_active = created.pk, created.version, True

    def has_activate_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("analytics.add_scoreformula"))

    @admin.action(
        description=gettext_lazy("Make the selected version active (every score is recomputed)"),
        permissions=["activate"],
    )
    def activate_selected(self, request: HttpRequest, queryset: QuerySet[ScoreFormula]) -> None:
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one version."), messages.ERROR)
            return
        formula = score_formula_activate(formula=queryset.get())
        self.message_user(
            request,
            _(
                "Version %(version)s is active. Every score is being recomputed with it in the background;"
                " the list shows when that is done."
            )
            % {"version": formula.version},
        )


@admin.register(SnapshotClaim)
class SnapshotClaimAdmin(_ReadOnly):
    list_display = ["post", "slot", "status", "due_at", "next_attempt_at", "attempts", "last_error"]
    list_filter = ["status", "slot"]
    list_select_related = ["post"]
    search_fields = ["post__title", "post__platform_post_id"]
    show_full_result_count = False


@admin.register(CollectionStop)
class CollectionStopAdmin(_ReadOnly):
    list_display = ["post", "reason", "at", "detail"]
    list_filter = ["reason"]
    list_select_related = ["post"]


@admin.register(KOLSnapshot)
class KOLSnapshotAdmin(_ReadOnly):
    list_display = ["kol", "day", "followers", "articles", "captured_at"]
    list_filter = ["day"]
    list_select_related = ["kol"]
    search_fields = ["kol__nickname", "kol__serial"]
    exclude = ["raw"]


class DashboardFilterForm(forms.Form):
    start = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    kol = forms.ModelChoiceField(
        label=gettext_lazy("KOL"), queryset=KOL.objects.order_by("nickname"), required=False
    )
    persona = forms.ChoiceField(
        label=gettext_lazy("Persona"), choices=[("", "—"), *Persona.choices], required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise forms.ValidationError(_("The start must not be after the end."))
        if start and end and (end - start).days >= MAX_DAYS:
            raise forms.ValidationError(_("A period is at most %(days)s days.") % {"days": MAX_DAYS})
        return data

    def scope(self) -> Scope:
        default = Scope.default()
        if not self.is_valid():
            return default
        data = self.cleaned_data
        end = data.get("end") or default.end
        start = data.get("start") or end - (default.end - default.start)
        kol = data.get("kol")
        return Scope(start=start, end=end, kol_id=kol.pk if kol else None, persona=data.get("persona") or "")


@admin.register(AnalysisResult)
class AnalysisResultAdmin(ModelAdmin):
    """Stored analyses; the dashboards (get_urls) are the way to read them."""

    list_display = ["kind", "key", "computed_at"]
    list_filter = ["kind"]
    show_full_result_count = False
    fields = ["kind", "key", "computed_at"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path(
                "dashboard/", view(self.dashboard_view), {"section": "overview"}, name="analytics_dashboard"
            ),
            path("dashboard/<slug:section>/", view(self.dashboard_view), name="analytics_dashboard_section"),
            *super().get_urls(),
        ]

    def dashboard_view(self, request: HttpRequest, section: str) -> HttpResponse:
        if not request.user.has_perm("analytics.view_analysisresult"):
            raise PermissionDenied
        if section not in BUILDERS:
            raise Http404
        form = DashboardFilterForm(request.GET or None)
        page = BUILDERS[section](form.scope())
        export = request.GET.get("export")
        if export:
            table = next((table for table in page.tables if table.name == export), None)
            if table is None:
                raise Http404
            response = HttpResponse(table_csv(table), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{section}-{table.name}.csv"'
            return response
        query = request.GET.copy()
        query.pop("export", None)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Analytics: %(section)s") % {"section": SECTIONS[section]},
            "opts": self.opts,
            "form": form,
            "page": page,
            "section": section,
            "sections": SECTIONS.items(),
            "query": query.urlencode(),
        }
        return TemplateResponse(request, "admin/analytics/dashboard.html", context)
