from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from posting.admin import publishing as _publishing_admin  # noqa: F401  (registers the outbox and halts)
from posting.admin import stance as _stance_admin  # noqa: F401  (registers the stance ledger)
from posting.admin.generation import BatchAdmin
from posting.admin.review import PostReviewAdmin
from posting.checks.compliance import compliance_rules_set_active, rule_validation_errors
from posting.labels import audit_action_label, post_status_label, system_actor_label
from posting.lifecycle.table import TRANSITIONS
from posting.models import (
    AuditEvent,
    ComplianceRule,
    GenerationBatch,
    Post,
)

admin.site.register(Post, PostReviewAdmin)


class AuditActionFilter(admin.SimpleListFilter):
    title = _("action")
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        actions = ["create", "edit", *TRANSITIONS]
        return [(action, audit_action_label(action)) for action in actions]

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        return queryset.filter(action=self.value()) if self.value() else queryset


class AuditStatusFilter(admin.SimpleListFilter):
    title = _("to")
    parameter_name = "to_status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(Post.Status.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        return queryset.filter(to_status=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ModelAdmin):
    """The audit log: read-only, appended by services."""

    list_display = [
        "created_at",
        "post",
        "action_display",
        "from_display",
        "to_display",
        "who",
        "approval",
        "note",
    ]
    fields = [
        "created_at",
        "post",
        "action_display",
        "from_display",
        "to_display",
        "who",
        "approval",
        "version",
        "note",
    ]
    readonly_fields = fields
    list_filter = [AuditActionFilter, AuditStatusFilter]
    list_select_related = ["post", "actor", "approval"]
    search_fields = ["post__title", "actor__username", "actor_label", "note"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description=_("by"))
    def who(self, obj: AuditEvent) -> str:
        return obj.actor.get_username() if obj.actor else system_actor_label(obj.actor_label)

    @admin.display(description=_("action"), ordering="action")
    def action_display(self, obj: AuditEvent) -> str:
        return audit_action_label(obj.action)

    @admin.display(description=_("from"), ordering="from_status")
    def from_display(self, obj: AuditEvent) -> str:
        return post_status_label(obj.from_status) if obj.from_status else "—"

    @admin.display(description=_("to"), ordering="to_status")
    def to_display(self, obj: AuditEvent) -> str:
        return post_status_label(obj.to_status) if obj.to_status else "—"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(GenerationBatch)
class GenerationBatchAdmin(BatchAdmin):
    """The batch pages live in posting/admin/generation.py: live progress, per-item outcomes, start a batch."""


class ComplianceRuleForm(forms.ModelForm):
    """Phrases are edited one per line instead of as JSON."""

    phrases = forms.CharField(
        label=_("phrases"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("One phrase per line. Spaces, full-width letters and Simplified characters are folded."),
    )

    class Meta:
        model = ComplianceRule
        fields = [
            "code",
            "category",
            "kind",
            "severity",
            "message",
            "pattern",
            "phrases",
            "applies_pattern",
            "unless_pattern",
            "skip_negated",
            "active",
            "notes",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and isinstance(self.instance.phrases, list):
            self.initial["phrases"] = "\n".join(self.instance.phrases)

    def clean_phrases(self) -> list[str]:
        text = self.cleaned_data.get("phrases") or ""
        return [line.strip() for line in text.splitlines() if line.strip()]

    def clean(self) -> dict[str, Any]:
        # A rule that cannot compile, or that matches empty text, is refused with a message on its field
        # (the checks own the rule's grammar).
        data = super().clean() or {}
        grammar = ("pattern", "phrases", "applies_pattern", "unless_pattern")
        candidate = ComplianceRule(**{name: data.get(name, getattr(self.instance, name)) for name in grammar})
        for field, problems in rule_validation_errors(candidate).items():
            for message in problems:
                self.add_error(field if field in self.fields else None, message)
        return data


@admin.register(ComplianceRule)
class ComplianceRuleAdmin(ModelAdmin):
    form = ComplianceRuleForm
    list_display = ["code_display", "category", "kind", "severity", "active", "message", "updated_at"]
    list_filter = ["category", "kind", "severity", "active"]
    search_fields = ["code", "message", "pattern", "notes"]
    readonly_fields = ["created_at", "updated_at"]
    actions = ["activate", "deactivate"]
    fieldsets = [
        (None, {"fields": ["code", "category", "kind", "severity", "active", "message"]}),
        (
            _("Matching"),
            {"fields": ["pattern", "phrases", "applies_pattern", "unless_pattern", "skip_negated"]},
        ),
        (_("Record"), {"fields": ["notes", "created_at", "updated_at"]}),
    ]

    @admin.display(description=_("code"), ordering="code")
    def code_display(self, obj: ComplianceRule) -> str:
        # An identifier (findings and settings refer to it), shown as code rather than as words.
        return format_html("<code>{}</code>", obj.code)

    @admin.action(description=_("Activate the selected rules"), permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[ComplianceRule]) -> None:
        count = compliance_rules_set_active(rule_ids=list(queryset.values_list("pk", flat=True)), active=True)
        self.message_user(request, _("%(count)d rule(s) activated.") % {"count": count})

    @admin.action(description=_("Deactivate the selected rules"), permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[ComplianceRule]) -> None:
        count = compliance_rules_set_active(
            rule_ids=list(queryset.values_list("pk", flat=True)), active=False
        )
        self.message_user(request, _("%(count)d rule(s) deactivated.") % {"count": count})
