from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from kols.models import KOL, PlatformAccount, PromptTemplate
from kols.prompt_syntax import PROMPT_VARIABLES
from kols.prompt_templates import prompt_template_activate, prompt_template_copy
from kols.services import account_update_credentials

admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class UserAdmin(BaseUserAdmin, ModelAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin, ModelAdmin):
    """Django's group admin in unfold's look (the roles are groups)."""


class PlatformAccountForm(forms.ModelForm):
    """Credentials are write-only: the form never renders a stored value, and blank keeps it."""

    new_login = forms.CharField(
        label=_("Login (e-mail)"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text=_("Leave blank to keep the stored login."),
    )
    new_password = forms.CharField(
        label=_("Password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Leave blank to keep the stored password. Stored encrypted; never shown again."),
    )

    class Meta:
        model = PlatformAccount
        fields = ["kol", "platform", "status", "paused_reason"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("status") == PlatformAccount.Status.PAUSED and not cleaned.get("paused_reason"):
            self.add_error("paused_reason", _("Say why the account is paused."))
        return cleaned


@admin.register(PlatformAccount)
class PlatformAccountAdmin(ModelAdmin):
    form = PlatformAccountForm
    list_display = [
        "kol",
        "platform",
        "login_hint",
        "credentials_set",
        "status",
        "token_expires_at",
        "last_login_at",
    ]
    list_filter = ["platform", "status"]
    list_select_related = ["kol"]
    search_fields = ["kol__nickname", "kol__serial"]
    autocomplete_fields = ["kol"]
    readonly_fields = [
        "login_hint", "credentials_set", "token_expires_at", "auth_failures", "last_login_at", "rate_limited_until",
    ]  # fmt: skip
    fieldsets = [
        (None, {"fields": ["kol", "platform", "status", "paused_reason"]}),
        (
            _("Credentials (write-only)"),
            {"fields": ["login_hint", "credentials_set", "new_login", "new_password"]},
        ),
        (
            _("Session"),
            {"fields": ["token_expires_at", "auth_failures", "last_login_at", "rate_limited_until"]},
        ),
    ]

    @admin.display(description=_("login"))
    def login_hint(self, obj: PlatformAccount) -> str:
        return obj.login_hint or "—"

    @admin.display(description=_("credentials set"), boolean=True)
    def credentials_set(self, obj: PlatformAccount) -> bool:
        return obj.has_credentials

    def save_model(self, request: HttpRequest, obj: PlatformAccount, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        account_update_credentials(
            account=obj,
            login=form.cleaned_data.get("new_login"),
            password=form.cleaned_data.get("new_password"),
        )


class PlatformAccountInline(TabularInline):
    model = PlatformAccount
    fields = ["platform", "status", "credentials_set", "token_expires_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    @admin.display(description=_("credentials set"), boolean=True)
    def credentials_set(self, obj: PlatformAccount) -> bool:
        return obj.has_credentials

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(KOL)
class KOLAdmin(ModelAdmin):
    list_display = [
        "nickname",
        "serial",
        "persona",
        "status",
        "dry_run",
        "max_posts_per_hour",
        "max_posts_per_day",
        "post_count",
        "is_demo",
    ]
    list_filter = ["persona", "status", "dry_run", "is_demo"]
    search_fields = ["nickname", "serial"]
    inlines = [PlatformAccountInline]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["serial", "nickname", "persona", "status", "dry_run", "is_demo"]}),
        (
            _("Audience and expertise"),
            {"fields": ["content_style", "target_audience", "expertise_industries", "expertise_keywords"]},
        ),
        (
            _("Persona card"),
            {
                "fields": [
                    "backstory",
                    "style_rules",
                    "guardrails",
                    "signature",
                    "common_phrases",
                    "emoji_use",
                ]
            },
        ),
        (
            _("Tone (1–10)"),
            {
                "fields": [
                    "tone_formal",
                    "tone_emotion",
                    "tone_confidence",
                    "tone_urgency",
                    "tone_interaction",
                ]
            },
        ),
        (_("Model (empty = site default)"), {"fields": ["llm_model", "llm_temperature", "llm_max_tokens"]}),
        (_("Posting caps"), {"fields": ["max_posts_per_hour", "max_posts_per_day", "posting_times"]}),
        (_("Record"), {"fields": ["created_at", "updated_at"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[KOL]:
        return super().get_queryset(request).annotate(post_count=Count("posts"))

    @admin.display(description=_("post count"), ordering="post_count")
    def post_count(self, obj: Any) -> int:
        return int(obj.post_count)


@admin.register(PromptTemplate)
class PromptTemplateAdmin(ModelAdmin):
    list_display = ["version", "post_type", "is_active", "activated_at", "created_by", "created_at"]
    list_filter = ["post_type", "is_active"]
    list_select_related = ["created_by"]
    search_fields = ["version", "notes"]
    readonly_fields = ["is_active", "activated_at", "created_by", "created_at", "variables"]
    actions = ["activate", "copy_as_new_version"]
    fieldsets = [
        (None, {"fields": ["post_type", "version", "is_active", "activated_at", "notes"]}),
        (
            _("Prompts"),
            {
                "fields": ["system_prompt", "user_prompt", "variables"],
                "description": _(
                    "Django template syntax: {{ stock_name }}, {% if has_news %}…{% endif %}, "
                    "{% for rule in style_rules %}…{% endfor %}. {{ market_data }} and {{ data_rules }} are "
                    "required. Once activated, the text is frozen: copy the template to a new version to change it."
                ),
            },
        ),
        (_("Record"), {"fields": ["created_by", "created_at"]}),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: PromptTemplate | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.activated_at is not None:
            # Posts refer to this text by its version.
            fields += ["post_type", "version", "system_prompt", "user_prompt"]
        return fields

    @admin.display(description=_("available variables"))
    def variables(self, obj: PromptTemplate) -> str:
        rows = format_html_join("", "<li><code>{{{{ {} }}}}</code> {}</li>", PROMPT_VARIABLES.items())
        return format_html("<ul>{}</ul>", rows)

    def save_model(self, request: HttpRequest, obj: PromptTemplate, form: Any, change: bool) -> None:
        if not change and isinstance(request.user, User):
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(
        description=_("Activate (replaces the active template of its post type)"), permissions=["change"]
    )
    def activate(self, request: HttpRequest, queryset: QuerySet[PromptTemplate]) -> None:
        templates = list(queryset)
        if len({template.post_type for template in templates}) != len(templates):
            self.message_user(request, _("Choose at most one template per post type."), messages.ERROR)
            return
        for template in templates:
            try:
                prompt_template_activate(template=template)
            except ValidationError as exc:
                self.message_user(request, f"{template.version}: {' '.join(exc.messages)}", messages.ERROR)
            else:
                self.message_user(request, _("%(version)s is now active.") % {"version": template.version})

    @admin.action(description=_("Copy as a new version (inactive, editable)"), permissions=["add"])
    def copy_as_new_version(self, request: HttpRequest, queryset: QuerySet[PromptTemplate]) -> None:
        by = request.user if isinstance(request.user, User) else None
        copies = [prompt_template_copy(template=template, by=by) for template in queryset]
        self.message_user(
            request, _("Created %(versions)s.") % {"versions": ", ".join(copy.version for copy in copies)}
        )


from kols import admin_tokens  # noqa: E402,F401  (API tokens: names and expiry only)
