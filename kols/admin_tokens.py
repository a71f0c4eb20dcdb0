"""API tokens in the admin: names, owners and expiry only. An administrator creates a token (shown once,
on the page that creates it) or revokes one; nobody can read one (only a digest is stored)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.admin import ModelAdmin

from config.exceptions import ServiceError
from kols.models import ApiToken
from kols.tokens import api_token_create


class ApiTokenForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    days = forms.IntegerField(label=gettext_lazy("Days until it expires"), min_value=1)


@admin.register(ApiToken)
class ApiTokenAdmin(ModelAdmin):
    list_display = ["name", "owner", "created_at", "expires_at", "is_expired"]
    list_select_related = ["user"]
    list_filter = ["user"]
    search_fields = ["name", "user__username"]
    # Nothing of the token: no digest, no key prefix. knox's own field names are untranslated, so the
    # columns are ours.
    fields = ["name", "owner", "created_at", "expires_at"]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("owner"), ordering="user__username")
    def owner(self, obj: ApiToken) -> str:
        return obj.user.get_username()

    @admin.display(description=gettext_lazy("created"), ordering="created")
    def created_at(self, obj: ApiToken) -> str:
        return timezone.localtime(obj.created).strftime("%Y-%m-%d %H:%M")

    @admin.display(description=gettext_lazy("expires"), ordering="expiry")
    def expires_at(self, obj: ApiToken) -> str:
        return timezone.localtime(obj.expiry).strftime("%Y-%m-%d %H:%M") if obj.expiry else "—"

    @admin.display(description=gettext_lazy("expired"), boolean=True)
    def is_expired(self, obj: ApiToken) -> bool:
        return obj.expiry is not None and obj.expiry <= timezone.now()

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ApiTokenForm(
            request.POST if request.method == "POST" else None,
            initial={"days": settings.API_TOKEN_TTL_DAYS},
        )
        form.fields["user"] = self.formfield_for_dbfield(ApiToken._meta.get_field("user"), request)
        if form.fields["user"] is not None:
            form.fields["user"].label = gettext_lazy("owner")
        form.order_fields(["user", "name", "days"])
        created: dict[str, Any] = {}
        if request.method == "POST" and form.is_valid():
            try:
                token, key = api_token_create(**form.cleaned_data)
            except ServiceError as error:
                form.add_error(None, error.message)
            else:
                created = {"token": token, "key": key}
        context = {
            **self.admin_site.each_context(request),
            "title": _("New API token"),
            "opts": self.opts,
            "form": form,
            **created,
        }
        return TemplateResponse(request, "admin/kols/apitoken/add.html", context)
