"""The publishing admin: the outbox's publications with their attempts, and halted platforms."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import display

from config.admin_data import data_table
from config.admin_display import DemoColumnMixin
from config.exceptions import ServiceError
from posting.models import (
    PlatformHalt,
    Post,
    Publication,
    PublishAttempt,
)
from posting.publishing import outbox
from posting.publishing.accounts import platform_resume
from posting.publishing.selectors import publishing_overview
from posting.review.services import post_approve_edit


class PublishAttemptInline(TabularInline):
    model = PublishAttempt
    fields = ["started_at", "kind", "http_status", "duration_ms", "outcome", "dry_run", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["started_at", "id"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


STATUS_LABELS = {
    "dry_run": "warning",
    "pending": "info",
    "sending": "warning",
    "published": "success",
    "failed_retryable": "warning",
    "failed_permanent": "danger",
    "unknown": "danger",
    "cancelled": "",
    "deleted": "",
}

# What an editor may do to one publication from the post page, the change page and the overview.
PUBLICATION_ACTIONS: dict[str, Any] = {
    "retry": lambda publication, user, data: outbox.publication_retry(publication=publication, by=user),
    "resend": lambda publication, user, data: outbox.publication_resend(publication=publication, by=user),
    "reconcile": lambda publication, user, data: outbox.publication_reconcile(
        publication=publication, by=user
    ),
    "confirm": lambda publication, user, data: outbox.publication_confirm(
        publication=publication, by=user, url=data.get("url", "")
    ),
    "unpublish": lambda publication, user, data: outbox.publication_unpublish(post=publication.post, by=user),
    # An edit of the published post, approved: pushed to the article (posting/review/services.py).
    "approve_edit": lambda publication, user, data: post_approve_edit(
        post=publication.post,
        by=user,
        expected_version=int(data["version"]) if str(data.get("version", "")).isdigit() else None,
    ),
}


@admin.register(Publication)
class PublicationAdmin(DemoColumnMixin, ModelAdmin):
    demo_field = "post__is_demo"

    """The outbox. Read-only: every change goes through posting/publishing/outbox.py."""

    list_display = [
        "id",
        "post_title",
        "kol",
        "sent_through",
        "status_badge",
        "due_at",
        "claimed_at",
        "attempt_count",
        "last_http_status",
        "problem",
        "demo_flag",
    ]
    list_filter = ["status", "backend", ("due_at", admin.DateFieldListFilter)]
    list_select_related = ["post", "post__kol", "account"]
    search_fields = ["post__title", "platform_post_id", "post__kol__nickname"]
    show_full_result_count = False
    list_per_page = 50
    ordering = ["-created_at", "-id"]
    inlines = [PublishAttemptInline]
    list_before_template = "admin/posting/publication/list_before.html"
    actions = ["publish_now_selected", "retry_selected", "reconcile_selected", "unpublish_selected"]
    readonly_fields = [
        "post",
        "account",
        "backend",
        "dry_run_reason",
        "status",
        "post_version",
        "due_at",
        "next_attempt_at",
        "slot_at",
        "task_eta",
        "attempt_count",
        "claimed_at",
        "finished_at",
        "platform_post_id",
        "platform_post_url",
        "request_payload_shown",
        "last_http_status",
        "last_error",
        "note",
        "deleted_at",
        "created_at",
        "updated_at",
    ]

    exclude = ["request_payload"]

    @admin.display(description=_("request"))
    def request_payload_shown(self, obj: Publication) -> SafeString | str:
        return data_table(obj.request_payload)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Publication]:
        # The list and the page never need the account's credentials: they are not even decrypted.
        return (
            super()
            .get_queryset(request)
            .defer("account__login", "account__password", "account__access_token")
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_publish_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(outbox.PUBLISH_PERMISSION))

    @admin.display(description=_("post"), ordering="post__title")
    def post_title(self, obj: Publication) -> str:
        return obj.post.title

    @admin.display(description=_("KOL"), ordering="post__kol__nickname")
    def kol(self, obj: Publication) -> str:
        return obj.post.kol.nickname

    @display(description=_("sent through"), label={"dry_run": "warning", "cmoney": "info", "webhook": "info"})
    def sent_through(self, obj: Publication) -> tuple[str, str]:
        if obj.is_dry_run:
            return "dry_run", _("DRY RUN: %(reason)s") % {"reason": obj.dry_run_reason}
        return obj.backend, str(obj.get_backend_display() or _("not sent yet"))

    @display(description=_("status"), ordering="status", label=STATUS_LABELS)
    def status_badge(self, obj: Publication) -> tuple[str, str]:
        if obj.is_dry_run and obj.status == Publication.Status.PUBLISHED:
            return "dry_run", str(_("Recorded (dry run, not sent)"))
        return obj.status, obj.get_status_display()

    @admin.display(description=_("error or note"))
    def problem(self, obj: Publication) -> str:
        return (obj.last_error or obj.note)[:120]

    # --- Bulk actions ---------------------------------------------------------------------------------

    def _each(self, request: HttpRequest, queryset: QuerySet[Publication], label: Any, apply: Any) -> None:
        done, refused = 0, []
        for publication in queryset.select_related("post__kol", "account"):
            try:
                result = apply(publication)
            except ServiceError as error:
                refused.append(f"#{publication.pk}: {error.message}")
                continue
            done += 1
            if isinstance(result, str):
                self.message_user(request, f"#{publication.pk}: {result}", level=messages.INFO)
        self.message_user(request, _("%(action)s: %(count)d done.") % {"action": label, "count": done})
        if refused:
            self.message_user(
                request, _("Not done: %(details)s") % {"details": "; ".join(refused)}, messages.WARNING
            )

    @admin.action(description=_("Publish now"), permissions=["publish"])
    def publish_now_selected(self, request: HttpRequest, queryset: QuerySet[Publication]) -> None:
        self._each(
            request,
            queryset,
            _("Publish now"),
            lambda p: outbox.publication_publish_now(post=p.post, by=request.user),
        )

    @admin.action(description=_("Retry"), permissions=["publish"])
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[Publication]) -> None:
        self._each(
            request, queryset, _("Retry"), lambda p: outbox.publication_retry(publication=p, by=request.user)
        )

    @admin.action(
        description=_("Reconcile (look up on the platform, or ask to confirm)"), permissions=["publish"]
    )
    def reconcile_selected(self, request: HttpRequest, queryset: QuerySet[Publication]) -> None:
        self._each(
            request,
            queryset,
            _("Reconcile"),
            lambda p: outbox.publication_reconcile(publication=p, by=request.user),
        )

    @admin.action(description=_("Unpublish (delete on the platform)"), permissions=["publish"])
    def unpublish_selected(
        self, request: HttpRequest, queryset: QuerySet[Publication]
    ) -> HttpResponse | None:
        if not request.POST.get("confirm"):
            context = {
                **self.admin_site.each_context(request),
                "title": _("Delete these articles from the platform?"),
                "opts": self.model._meta,
                "publications": queryset.select_related("post__kol")[:200],
                "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
                "select_across": request.POST.get("select_across", "0"),
                "action_name": request.POST.get("action", ""),
            }
            return TemplateResponse(request, "admin/posting/publication/confirm_unpublish.html", context)
        self._each(
            request,
            queryset,
            _("Unpublish"),
            lambda p: outbox.publication_unpublish(post=p.post, by=request.user),
        )
        return None

    # --- Pages: the overview, and the buttons of the post page ---------------------------------------

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("overview/", wrap(self.overview_view), name="posting_publication_overview"),
            path("<int:object_id>/act/", wrap(self.act_view), name="posting_publication_act"),
            path(
                "post/<uuid:post_id>/publish-now/",
                wrap(self.publish_now_view),
                name="posting_publication_publish_now",
            ),
            *super().get_urls(),
        ]

    def overview_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Publishing overview"),
            "opts": self.model._meta,
            "can_publish": self.has_publish_permission(request),
            **publishing_overview(),
        }
        return TemplateResponse(request, "admin/posting/publication/overview.html", context)

    def _back(self, request: HttpRequest, default: str) -> HttpResponseRedirect:
        target = request.POST.get("next", "")
        if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            return HttpResponseRedirect(target)
        return HttpResponseRedirect(default)

    def act_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        publication = get_object_or_404(
            Publication.objects.select_related("post__kol", "account"), pk=object_id
        )
        back = self._back(request, reverse("admin:posting_post_change", args=[publication.post_id]))
        action = PUBLICATION_ACTIONS.get(request.POST.get("action", ""))
        if request.method != "POST" or action is None:
            return back
        try:
            result = action(publication, request.user, request.POST)
        except ServiceError as error:
            self.message_user(request, error.message, level=messages.ERROR)
            return back
        self.message_user(request, result if isinstance(result, str) else _("Done."), level=messages.INFO)
        return back

    def publish_now_view(self, request: HttpRequest, post_id: str) -> HttpResponse:
        post = get_object_or_404(Post, pk=post_id)
        back = self._back(request, reverse("admin:posting_post_change", args=[post.pk]))
        if request.method != "POST":
            return back
        try:
            outbox.publication_publish_now(post=post, by=request.user)
        except ServiceError as error:
            self.message_user(request, error.message, level=messages.ERROR)
            return back
        self.message_user(request, _("Queued: it goes out as soon as the account's pace allows."))
        return back


@admin.register(PlatformHalt)
class PlatformHaltAdmin(ModelAdmin):
    """Platforms whose sending stopped because CMoney refused OUR configuration (posting/publishing/accounts.py)."""

    list_display = ["platform", "halted_at", "reason"]
    actions = ["resume_sending"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description=_("Resume sending (the configuration is fixed)"), permissions=["delete"])
    def resume_sending(self, request: HttpRequest, queryset: QuerySet[PlatformHalt]) -> None:
        for halt in queryset:
            platform_resume(platform=halt.platform)
        self.message_user(request, _("Sending resumed."), messages.SUCCESS)
