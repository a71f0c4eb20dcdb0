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
from unfold.widgets import UnfoldAdminPasswordWidget, UnfoldAdminTextInputWidget

from config.admin_display import DemoColumnMixin
from kols.forms import LinesField, TimesField
from kols.models import KOL, TONE_FIELDS, PlatformAccount, Playbook, PromptTemplate
from kols.playbooks import playbook_activate, playbook_retire
from kols.prompt_syntax import PROMPT_VARIABLES
from kols.prompt_templates import prompt_template_activate, prompt_template_copy
from kols.services import account_update_credentials, kol_persona_version_record

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
        # unfold's widgets: a plain TextInput renders without a border in unfold's theme (invisible).
        widget=UnfoldAdminTextInputWidget(attrs={"autocomplete": "off"}),
        help_text=_("Leave blank to keep the stored login."),
    )
    new_password = forms.CharField(
        label=_("Password"),
        required=False,
        strip=False,
        widget=UnfoldAdminPasswordWidget(render_value=False, attrs={"autocomplete": "new-password"}),
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
class PlatformAccountAdmin(DemoColumnMixin, ModelAdmin):
    form = PlatformAccountForm
    list_display = [
        "kol",
        "platform",
        "login_hint",
        "credentials_set",
        "status",
        "token_expires_at",
        "last_login_at",
        "demo_flag",
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


class KOLForm(forms.ModelForm):
    """The persona's lists as lines of text and its posting times as HH:MM, not JSON."""

    expertise_industries = LinesField(
        label=_("expertise: industries"),
        required=False,
        help_text=_("One industry per line, as in the stock master."),
    )
    expertise_keywords = LinesField(
        label=_("expertise: keywords"), required=False, help_text=_("One per line.")
    )
    style_rules = LinesField(
        label=_("style rules"), required=False, rows=4, help_text=_("One rule per line.")
    )
    guardrails = LinesField(label=_("guardrails"), required=False, rows=4, help_text=_("One per line."))
    common_phrases = LinesField(
        label=_("common phrases"), required=False, rows=4, help_text=_("One per line.")
    )
    posting_times = TimesField(
        label=_("posting times"),
        required=False,
        help_text=_(
            'Times of day (Asia/Taipei) for "next free slot", e.g. 08:30, 13:45. Empty = site default.'
        ),
    )

    class Meta:
        model = KOL
        fields = [
            "serial", "nickname", "persona", "status", "dry_run", "content_style", "target_audience",
            "expertise_industries", "expertise_keywords", "backstory", "style_rules", "guardrails", "signature",
            "common_phrases", "emoji_use", *TONE_FIELDS, "llm_model", "llm_temperature", "llm_max_tokens",
            "max_posts_per_hour", "max_posts_per_day", "posting_times",
        ]  # fmt: skip


@admin.register(KOL)
class KOLAdmin(DemoColumnMixin, ModelAdmin):
    form = KOLForm
    list_display = [
        "nickname",
        "serial",
        "persona",
        "status",
        "dry_run",
        "max_posts_per_hour",
        "max_posts_per_day",
        "post_count",
        "demo_flag",
    ]
    list_filter = ["persona", "status", "dry_run", "is_demo"]
    search_fields = ["nickname", "serial"]
    inlines = [PlatformAccountInline]
    readonly_fields = ["is_demo", "created_at", "updated_at"]
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

    def save_model(self, request: HttpRequest, obj: KOL, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # Every saved change of the persona card becomes a new version (posts record theirs).
        kol_persona_version_record(kol=obj, by=request.user)

    @admin.display(description=_("post count"), ordering="post_count")
    def post_count(self, obj: Any) -> int:
        return int(obj.post_count)


@admin.register(PromptTemplate)
class PromptTemplateAdmin(ModelAdmin):
    list_display = ["version_display", "post_type", "is_active", "activated_at", "created_by", "created_at"]
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
                    "Django template syntax: <code>{{ stock_name }}</code>, <code>{% if has_news %}…{% endif %}</code>, "
                    "<code>{% for rule in style_rules %}…{% endfor %}</code>. <code>{{ market_data }}</code> and "
                    "<code>{{ data_rules }}</code> are required. Once activated, the text is frozen: copy the template "
                    "to a new version to change it."
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

    @admin.display(description=_("version"), ordering="version")
    def version_display(self, obj: PromptTemplate) -> str:
        # An identifier recorded on posts (analysis-v3), shown as code rather than as words.
        return format_html("<code>{}</code>", obj.version)

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


@admin.register(Playbook)
class PlaybookAdmin(ModelAdmin):
    """Proposed by analytics from significant findings; an Administrator reads and activates a version."""

    list_display = [
        "kol",
        "version",
        "status",
        "line_count",
        "best_hours_display",
        "created_at",
        "activated_by",
    ]
    list_filter = ["status"]
    list_select_related = ["kol", "activated_by"]
    autocomplete_fields = ["kol"]
    search_fields = ["kol__nickname", "kol__serial"]
    # Read-only: a line an editor typed in would be a claim no finding supports.
    readonly_fields = fields = [
        "kol",
        "version",
        "status",
        "lines_display",
        "best_hours_display",
        "evidence_display",
        "created_at",
        "activated_at",
        "activated_by",
    ]
    actions = ["activate", "retire"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # Versions come from the analysis (analytics/services.py playbooks_propose).

    @admin.display(description=_("lines"))
    def line_count(self, obj: Playbook) -> int:
        return len(obj.lines or [])

    @admin.display(description=_("guidance lines"))
    def lines_display(self, obj: Playbook) -> str:
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((line,) for line in obj.lines or []))
        )

    @admin.display(description=_("best hours"))
    def best_hours_display(self, obj: Playbook) -> str:
        return ", ".join(f"{int(hour):02d}:00" for hour in obj.best_hours or [])

    @admin.display(description=_("evidence"))
    def evidence_display(self, obj: Playbook) -> str:
        rows = [
            (
                row.get("feature", ""),
                row.get("value", ""),
                row.get("posts", ""),
                f"{(row.get('lift') or 0) * 100:+.0f}%",
            )
            for row in obj.evidence or []
        ]
        if not rows:
            return "—"
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
        return format_html(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
            _("feature"),
            _("value"),
            _("posts"),
            _("lift"),
            body,
        )

    def has_activate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("kols.activate_playbook")

    @admin.action(description=_("Activate (replaces the KOL's active playbook)"), permissions=["activate"])
    def activate(self, request: HttpRequest, queryset: QuerySet[Playbook]) -> None:
        playbooks = list(queryset.select_related("kol"))
        if len({playbook.kol_id for playbook in playbooks}) != len(playbooks):
            self.message_user(request, _("Choose at most one version per KOL."), messages.ERROR)
            return
        for playbook in playbooks:
            playbook_activate(playbook=playbook, by=request.user if isinstance(request.user, User) else None)
            self.message_user(request, _("%(playbook)s is now active.") % {"playbook": playbook})

    @admin.action(description=_("Retire"), permissions=["activate"])
    def retire(self, request: HttpRequest, queryset: QuerySet[Playbook]) -> None:
        for playbook in queryset.select_related("kol"):
            playbook_retire(playbook=playbook)
        self.message_user(request, _("Retired."))


from kols import admin_tokens  # noqa: E402,F401  (API tokens: names and expiry only)
