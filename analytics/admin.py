from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from analytics.analysis.scope import MAX_DAYS, Scope
from analytics.dashboards import BUILDERS, SECTIONS, table_csv
from analytics.models import AnalysisResult, InteractionSnapshot
from kols.models import KOL, Persona


@admin.register(InteractionSnapshot)
class InteractionSnapshotAdmin(ModelAdmin):
    list_display = ["post", "captured_at", "likes", "comments", "shares", "saves", "tips", "views"]
    list_select_related = ["post"]
    search_fields = ["post__title", "post__platform_post_id"]
    date_hierarchy = "captured_at"
    show_full_result_count = False
    readonly_fields = ["post", "captured_at", "likes", "comments", "shares", "saves", "tips", "views", "raw"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class DashboardFilterForm(forms.Form):
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    kol = forms.ModelChoiceField(label=_("KOL"), queryset=KOL.objects.order_by("nickname"), required=False)
    persona = forms.ChoiceField(label=_("Persona"), choices=[("", "—"), *Persona.choices], required=False)

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
