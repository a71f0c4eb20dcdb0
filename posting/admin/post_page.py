"""The post page of the review desk: read the post with what it shows beside it, edit its text, decide.

Every decision calls a service (posting/review/services.py and friends); the page only displays and routes.
The queue (posting/admin/review.py) is built on top of it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from unfold.admin import ModelAdmin

from config.exceptions import ServiceError
from posting.admin.review_forms import (
    ReasonForm,
    ReviewForm,
)
from posting.checks.stance import stance_panel
from posting.generation import regenerate
from posting.lifecycle.table import EDITABLE_STATES, REOPEN_ON_EDIT_STATES, TRANSITIONS, Action
from posting.models import Approval, Post
from posting.publishing.selectors import posts_with_dry_run, publishing_panel
from posting.publishing.topics import topic_panel
from posting.review import services
from posting.review.approval import approval_refusal
from posting.review.locks import edit_lock_acquire, edit_lock_release
from posting.review.page_parts import review_page_parts
from posting.review.rendering import highlight, platform_preview
from posting.review.selectors import persona_version_rows, revision_history

# What the post page shows beside the post, read with it in one query.
POST_PAGE_RELATED = (
    "kol", "stock", "approved_by", "text_edited_by", "batch", "regenerated_from", "persona_version"
)  # fmt: skip


class PostPageAdmin(ModelAdmin):
    """The change page of a post, replaced by the review page; PostReviewAdmin adds the queue."""

    change_form_template = "admin/posting/post/review.html"

    def get_urls(self) -> list[URLPattern]:
        decide = self.admin_site.admin_view(self.decide_view)
        release = self.admin_site.admin_view(self.release_lock_view)
        topic = self.admin_site.admin_view(self.topic_view)
        return [
            path("<uuid:object_id>/topic/", topic, name="posting_post_topic"),
            path("<uuid:object_id>/decide/", decide, name="posting_post_decide"),
            path("<uuid:object_id>/release-lock/", release, name="posting_post_release_lock"),
            *super().get_urls(),
        ]

    def release_lock_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The post page's beacon when its editor leaves: frees their "X is editing" lock at once."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        edit_lock_release(post_id=object_id, user=request.user)
        return HttpResponse(status=204)

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Post | None:
        # The whole row, with what the post page shows beside it, in one query: the queue's only() would
        # leave body and version to one query each.
        pk = self._uuid_or_none(object_id)
        return None if pk is None else self._page_queryset(request).filter(pk=pk).first()

    def _page_queryset(self, request: HttpRequest) -> QuerySet[Post]:
        return posts_with_dry_run(super().get_queryset(request).select_related(*POST_PAGE_RELATED))

    @staticmethod
    def _uuid_or_none(value: str) -> uuid.UUID | None:
        try:
            return uuid.UUID(str(value))
        except ValueError:
            return None

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        post = self.get_object(request, object_id)
        if post is None or not self.has_view_or_change_permission(request, post):
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        can_edit = self.has_change_permission(request, post) and post.status in (
            EDITABLE_STATES | REOPEN_ON_EDIT_STATES | {Post.Status.PUBLISHED}
        )
        form = ReviewForm(initial={"title": post.title, "body": post.body, "version": post.version})
        if request.method == "POST" and can_edit:
            form = ReviewForm(request.POST)
            if form.is_valid():
                saved = self._save_text(request, post, form)
                if saved:
                    edit_lock_release(post_id=post.pk, user=request.user)
                    return HttpResponseRedirect(request.path)
        return self._render_review(request, post, form, can_edit)

    def _save_text(self, request: HttpRequest, post: Post, form: ReviewForm) -> bool:
        try:
            result = services.post_update_text(
                post=post,
                by=request.user,
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
                expected_version=form.cleaned_data["version"],
            )
        except ServiceError as error:
            # The person's text stays in the form: nothing is lost.
            form.add_error(None, error.message)
            return False
        if not result.changed:
            self.message_user(request, _("Nothing changed."))
        elif result.platform_copy_unchanged:
            self.message_user(
                request,
                _(
                    "Saved our copy only. The article on the platform is NOT changed (the platform has no edit)."
                ),
                level=messages.WARNING,
            )
        elif result.reopened:
            self.message_user(
                request,
                _("Saved. The text changed after approval, so it went back to review."),
                level=messages.WARNING,
            )
        else:
            self.message_user(request, _("Saved; checks re-run."))
        return True

    def _render_review(
        self, request: HttpRequest, post: Post, form: ReviewForm, can_edit: bool
    ) -> TemplateResponse:
        if request.method == "POST":  # a refused save: read the post again as it is now
            post = self._page_queryset(request).get(pk=post.pk)
        holder = edit_lock_acquire(post_id=post.pk, user=request.user) if can_edit else None
        findings = post.check_findings or []
        closest_id = (post.check_summary or {}).get("closest_post_id")
        context = {
            **self.admin_site.each_context(request),
            "title": post.title,
            "opts": self.opts,
            "original": post,
            "post": post,
            "form": form,
            "can_edit": can_edit,
            "lock_holder": holder,
            "title_html": highlight(post.title, findings, field="title"),
            "body_html": highlight(post.body, findings, field="body"),
            "findings": findings,
            "preview": platform_preview(title=post.title, body=post.body, tags=post.commodity_tags),
            "closest_url": reverse("admin:posting_post_change", args=[closest_id]) if closest_id else "",
            "revisions": revision_history(post=post),
            "events": post.events.select_related("actor", "approval")[:50],
            "approvals": Approval.objects.filter(post=post).select_related("approved_by"),
            "decisions": self._decisions(request, post),
            "approve_refusal": approval_refusal(post=post, user=request.user),
            "regenerations": post.regenerations.only("id", "title", "status", "created_at").order_by(
                "created_at"
            ),
            "reason_form": ReasonForm(),
            "publishing": publishing_panel(post=post, user=request.user),
            "stance_panel": stance_panel(post=post),
            "persona_rows": persona_version_rows(post=post),
            **review_page_parts(post=post),
            **topic_panel(post=post, can_change=can_edit, load=request.GET.get("topics") == "1"),
        }
        return TemplateResponse(request, self.change_form_template, context)

    def _decisions(self, request: HttpRequest, post: Post) -> list[str]:
        submit = post.status in TRANSITIONS[Action.SUBMIT].sources and self.has_change_permission(
            request, post
        )
        if not self.has_review_permission(request):
            return [Action.SUBMIT] if submit else []
        offered = [
            Action.APPROVE,
            Action.REJECT,
            Action.REQUEST_CHANGES,
            Action.SCHEDULE,
            Action.UNSCHEDULE,
            Action.REGENERATE,
        ]
        return [Action.SUBMIT] * submit + [
            action for action in offered if post.status in TRANSITIONS[action].sources
        ]

    def decide_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The decision buttons of the post page post here; each calls one service."""
        post = get_object_or_404(Post, pk=object_id)
        back = HttpResponseRedirect(reverse("admin:posting_post_change", args=[post.pk]))
        if request.method != "POST":
            return back
        action = request.POST.get("decision", "")
        if action == Action.REGENERATE:
            return self._regenerate_one(request, post, back)
        try:
            self._decide(request, post, action)
        except ServiceError as error:
            self.message_user(request, error.message, level=messages.ERROR)
            return back
        self.message_user(request, _("%(action)s: done.") % {"action": TRANSITIONS[action].label})
        return back

    def topic_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The topic control of the post page posts here: attach a trending topic, or remove it."""
        post = get_object_or_404(Post, pk=object_id)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request, post):
            raise PermissionDenied
        back = HttpResponseRedirect(reverse("admin:posting_post_change", args=[post.pk]) + "#topic")
        try:
            post = services.post_attach_topic(
                post=post,
                by=request.user,
                topic_id=request.POST.get("topic_id", ""),
                topic_title=request.POST.get("topic_title", ""),
            )
        except ServiceError as error:
            self.message_user(request, error.message, level=messages.ERROR)
            return back
        if post.topic_id:
            self.message_user(
                request, _("Topic attached: %(title)s") % {"title": post.topic_title or post.topic_id}
            )
        else:
            self.message_user(request, _("Topic removed."))
        return back

    def _regenerate_one(self, request: HttpRequest, post: Post, back: HttpResponse) -> HttpResponse:
        """The original leaves the queue; the person follows its replacement on the batch page."""
        try:
            batch = regenerate.post_regenerate(post=post, by=request.user)
        except ServiceError as error:
            self.message_user(request, error.message, level=messages.ERROR)
            return back
        self.message_user(
            request,
            _(
                "Regenerate: a new draft is being written in batch #%(id)s; this post was taken out of the queue."
            )
            % {"id": batch.pk},
        )
        return HttpResponseRedirect(reverse("admin:posting_generationbatch_change", args=[batch.pk]))

    def _decide(self, request: HttpRequest, post: Post, action: str) -> None:
        user, data = request.user, request.POST
        version = int(data["version"]) if data.get("version", "").isdigit() else None
        if action == Action.SUBMIT:
            services.post_submit(post=post, by=user)
        elif action == Action.APPROVE:
            services.post_approve(post=post, by=user, expected_version=version, note=data.get("note", ""))
        elif action == Action.REJECT:
            services.post_reject(post=post, by=user, reason=data.get("reason", ""))
        elif action == Action.REQUEST_CHANGES:
            services.post_request_changes(post=post, by=user, note=data.get("reason", ""))
        elif action == Action.SCHEDULE:
            services.post_schedule(post=post, by=user, at=_parse_local(data.get("at", "")))
        elif action == Action.UNSCHEDULE:
            services.post_unschedule(post=post, by=user)
        else:
            raise ServiceError(_("Unknown decision."), code="invalid")


def _parse_local(value: str) -> dt.datetime:
    try:
        naive = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        message = _("Give the publishing time as YYYY-MM-DD HH:MM (Asia/Taipei).")
        raise ServiceError(message, code="invalid", fields={"at": [message]}) from exc
    return timezone.make_aware(naive) if timezone.is_naive(naive) else naive
