"""The review desk: the queue reviewers live in (the post page they decide on is posting/admin/post_page.py).

Every decision calls a service in posting/review/services.py; this module only displays and routes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from unfold.contrib.filters.admin import (
    AutocompleteSelectFilter,
    ChoicesDropdownFilter,
    RangeDateFilter,
    RangeNumericFilter,
)
from unfold.decorators import display

from config.exceptions import ServiceError
from posting.admin.paginator import CappedCountPaginator
from posting.admin.post_page import PostPageAdmin
from posting.admin.review_forms import (
    QUEUE,
    IndustryFilter,
    ReasonForm,
    ReviewStatusFilter,
    WriteForm,
)
from posting.generation import regenerate
from posting.labels import trigger_label
from posting.models import GenerationBatch, Post
from posting.publishing.selectors import posts_with_dry_run
from posting.publishing.slots import next_free_slots
from posting.review import services
from posting.review.selectors import resubmitted_after_changes

BULK_ACTIONS: dict[str, dict[str, Any]] = {
    "approve": {"label": gettext_lazy("Approve"), "reason": False},
    "reject": {"label": gettext_lazy("Reject"), "reason": True},
    "request_changes": {"label": gettext_lazy("Request changes"), "reason": True},
    "schedule": {"label": gettext_lazy("Schedule into the next free slots"), "reason": False},
    "regenerate": {"label": gettext_lazy("Regenerate"), "reason": False},
}


class PostReviewAdmin(PostPageAdmin):
    list_display = [
        "title",
        "kol",
        "stock_display",
        "risk_badge",
        "quality_display",
        "duplicate_flag",
        "generator",
        "trigger_display",
        "status_display",
        "score_24h_display",
        "came_back",
        "age",
    ]
    list_display_links = ["title"]
    list_filter = [
        ReviewStatusFilter,
        ("kol", AutocompleteSelectFilter),
        ("kol__persona", ChoicesDropdownFilter),
        ("stock", AutocompleteSelectFilter),
        IndustryFilter,
        ("risk_level", ChoicesDropdownFilter),
        ("generator", ChoicesDropdownFilter),
        ("batch", AutocompleteSelectFilter),
        ("created_at", RangeDateFilter),
        ("score_24h", RangeNumericFilter),
        "score_24h_late",
    ]
    list_filter_submit = True
    list_select_related = ["kol", "stock"]
    search_fields = ["title", "body", "stock__code", "stock__name"]
    search_help_text = gettext_lazy("Title, body, stock code or name")
    autocomplete_fields = ["kol", "stock"]
    show_full_result_count = False
    # Counts at most 10,001 rows: the queue costs the same at a thousand posts and at a million.
    paginator = CappedCountPaginator
    list_per_page = 50
    actions = [
        "approve_selected",
        "reject_selected",
        "request_changes_selected",
        "schedule_selected",
        "regenerate_selected",
    ]

    # --- The queue ----------------------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[Post]:
        # Only what the list shows: the body and JSON blobs stay in the database.
        return posts_with_dry_run(
            super()
            .get_queryset(request)
            .only(
                "id",
                "title",
                "status",
                "risk_level",
                "risk_rank",
                "quality_score",
                "generator",
                "trigger_type",
                "created_at",
                "check_summary",
                "score_24h",
                "score_24h_late",
                "is_demo",
                "kol__nickname",
                "kol__serial",
                "stock__code",
                "stock__name",
            )
            .annotate(came_back_flag=resubmitted_after_changes())
        )

    @admin.display(description=gettext_lazy("came back"), boolean=True, ordering="came_back_flag")
    def came_back(self, obj: Post) -> bool:
        """Resubmitted after a reviewer requested changes: the queue shows what came back."""
        return bool(getattr(obj, "came_back_flag", False))

    def get_ordering(self, request: HttpRequest) -> list[str]:
        status = request.GET.get("status") or QUEUE
        if status in (QUEUE, Post.Status.PENDING_REVIEW):
            return ["risk_rank", "created_at", "id"]  # riskiest first, then oldest
        return ["-created_at", "-id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("posting.add_post"))

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Write a post by hand for a KOL: a checked draft, which its author then submits for review."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = WriteForm(request.POST if request.method == "POST" else None)
        for name in ("kol", "stock"):
            field = self.formfield_for_dbfield(Post._meta.get_field(name), request)
            assert field is not None
            form.fields[name] = field
        form.order_fields(["kol", "stock", "title", "body"])
        if request.method == "POST" and form.is_valid():
            try:
                post = services.post_write(by=request.user, **form.cleaned_data)
            except ServiceError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(
                    request, _("Draft saved and checked; submit it for review when it is ready.")
                )
                return HttpResponseRedirect(reverse("admin:posting_post_change", args=[post.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Write a post"),
            "opts": self.opts,
            "form": form,
        }
        return TemplateResponse(request, "admin/posting/post/write.html", context)

    def has_review_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("posting.review_post"))

    @display(
        description=gettext_lazy("status"),
        ordering="status",
        label={"dry_run": "warning", "demo": "info", "published": "success", "failed": "danger"},
    )
    def status_display(self, obj: Post) -> tuple[str, str]:
        # A dry run never reached a platform: it must not read like a real publication.
        label = obj.get_status_display()
        if getattr(obj, "dry_run", False) and obj.status in (Post.Status.PUBLISHED, Post.Status.PUBLISHING):
            return "dry_run", _("%(status)s (dry run, not sent)") % {"status": label}
        if obj.is_demo:
            return "demo", _("%(status)s · demo") % {"status": label}
        return obj.status, str(label)

    @admin.display(description=gettext_lazy("trigger"), ordering="trigger_type")
    def trigger_display(self, obj: Post) -> str:
        return trigger_label(obj.trigger_type)

    @admin.display(description=gettext_lazy("stock"), ordering="stock__code")
    def stock_display(self, obj: Post) -> str:
        return f"{obj.stock.code} {obj.stock.name}" if obj.stock else _("(topic)")

    @display(
        description=gettext_lazy("risk"),
        ordering="risk_rank",
        label={"blocked": "danger", "high": "warning", "medium": "info", "low": "success"},
    )
    def risk_badge(self, obj: Post) -> tuple[str, str]:
        return obj.risk_level or "", obj.get_risk_level_display() or _("unchecked")

    @admin.display(description=gettext_lazy("quality"), ordering="quality_score")
    def quality_display(self, obj: Post) -> str:
        return "—" if obj.quality_score is None else f"{obj.quality_score:.2f}"

    @admin.display(description=gettext_lazy("24 h score"), ordering="score_24h")
    def score_24h_display(self, obj: Post) -> str:
        if obj.score_24h is None:
            return "—"
        return f"{obj.score_24h:,.2f}" + (" " + _("(late)") if obj.score_24h_late else "")

    @display(description=gettext_lazy("duplicate"), label={"duplicate": "warning"})
    def duplicate_flag(self, obj: Post) -> tuple[str, str] | str:
        # A warning chip, not a green tick: "is a duplicate" is a problem, not a pass.
        if (obj.check_summary or {}).get("duplicate"):
            return "duplicate", _("Near-duplicate")
        return "—"

    @admin.display(description=gettext_lazy("age"), ordering="created_at")
    def age(self, obj: Post) -> str:
        return timesince(obj.created_at)

    # --- Bulk actions, each behind a confirmation page -----------------------------------------------

    @admin.action(description=gettext_lazy("Approve selected posts"), permissions=["review"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[Post]) -> HttpResponse | None:
        return self._bulk(
            request, queryset, "approve", lambda post, _r: services.post_approve(post=post, by=request.user)
        )

    @admin.action(description=gettext_lazy("Reject selected posts"), permissions=["review"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[Post]) -> HttpResponse | None:
        return self._bulk(
            request,
            queryset,
            "reject",
            lambda post, reason: services.post_reject(post=post, by=request.user, reason=reason),
        )

    @admin.action(description=gettext_lazy("Request changes on selected posts"), permissions=["review"])
    def request_changes_selected(self, request: HttpRequest, queryset: QuerySet[Post]) -> HttpResponse | None:
        return self._bulk(
            request,
            queryset,
            "request_changes",
            lambda post, note: services.post_request_changes(post=post, by=request.user, note=note),
        )

    @admin.action(
        description=gettext_lazy("Schedule selected posts into the next free slots"), permissions=["review"]
    )
    def schedule_selected(self, request: HttpRequest, queryset: QuerySet[Post]) -> HttpResponse | None:
        posts = list(queryset.select_related("kol"))
        slots = next_free_slots(posts=posts) if request.POST.get("confirm") else {}

        def schedule(post: Post, _reason: str) -> Post:
            slot = slots.get(post.pk)
            if slot is None:
                raise ServiceError(_("No free slot in the next two weeks"), code="no_free_slot")
            return services.post_schedule(post=post, by=request.user, at=slot)

        return self._bulk(request, queryset, "schedule", schedule)

    @admin.action(description=gettext_lazy("Regenerate selected posts"), permissions=["review"])
    def regenerate_selected(self, request: HttpRequest, queryset: QuerySet[Post]) -> HttpResponse | None:
        if not request.POST.get("confirm"):
            return self._confirmation(request, queryset, "regenerate", None, plans=True)
        try:
            self._report_regenerated(request, regenerate.posts_regenerate(posts=queryset, by=request.user))
        except ServiceError as error:
            self.message_user(request, error.message, level=messages.ERROR)
        return None

    def _report_regenerated(self, request: HttpRequest, result: regenerate.RegenerateResult) -> None:
        """Counts per reason like the other actions, and a link to each batch's progress page."""
        count = len(result.regenerated)
        if count:
            message = ngettext(
                "Regenerate: {count} new draft is being written ({batches}).",
                "Regenerate: {count} new drafts are being written ({batches}).",
                count,
            )
            self.message_user(
                request, format_html(message, count=count, batches=_batch_links(result.batches))
            )
        else:
            self.message_user(request, _("Regenerate: nothing started."), level=messages.WARNING)
        self._report_refusals(request, result.refused_by_reason())

    def _report_refusals(self, request: HttpRequest, refused: Counter[str]) -> None:
        if refused:
            details = "; ".join(f"{count} × {reason}" for reason, count in refused.most_common())
            self.message_user(
                request, _("Not done: %(details)s") % {"details": details}, level=messages.WARNING
            )

    def _bulk(
        self, request: HttpRequest, queryset: QuerySet[Post], name: str, apply: Callable[[Post, str], Post]
    ) -> HttpResponse | None:
        spec = BULK_ACTIONS[name]
        form = ReasonForm(request.POST if request.POST.get("confirm") else None) if spec["reason"] else None
        if not request.POST.get("confirm") or (form is not None and not form.is_valid()):
            return self._confirmation(request, queryset, name, form)
        reason = form.cleaned_data["reason"] if form is not None else ""
        done, refused = 0, Counter[str]()
        for post in queryset.select_related("kol"):
            try:
                apply(post, reason)
                done += 1
            except ServiceError as error:
                refused[
                    error.message if error.code not in REFUSAL_LABELS else str(REFUSAL_LABELS[error.code])
                ] += 1
        self.message_user(
            request, _("%(action)s: %(count)d done.") % {"action": spec["label"], "count": done}
        )
        self._report_refusals(request, refused)
        return None

    def _confirmation(
        self,
        request: HttpRequest,
        queryset: QuerySet[Post],
        name: str,
        form: forms.Form | None,
        plans: bool = False,
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": _("Confirm: %(action)s") % {"action": BULK_ACTIONS[name]["label"]},
            "opts": self.model._meta,
            # Regenerate shows, per post, what will happen: a new draft by which writer, or why not.
            "plans": regenerate.regenerate_plan(posts=queryset[:500]) if plans else None,
            "posts": queryset.select_related("kol", "stock")[:500] if not plans else [],
            "count": queryset.count(),
            "action_name": request.POST.get("action", ""),
            "action_label": BULK_ACTIONS[name]["label"],
            "form": form,
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
        }
        return TemplateResponse(request, "admin/posting/post/confirm_action.html", context)


REFUSAL_LABELS = {
    "blocking_findings": gettext_lazy("blocking findings"),
    "self_approval": gettext_lazy("you wrote part of the text"),
    "checks_stale": gettext_lazy("checks not yet run on the current text"),
    "checks_not_run": gettext_lazy("checks not yet run on the current text"),
    "already_approved": gettext_lazy("already approved"),
    "transition_not_allowed": gettext_lazy("not in a state that allows it"),
    "edit_conflict": gettext_lazy("changed meanwhile"),
    "permission_denied": gettext_lazy("no permission"),
    "no_free_slot": gettext_lazy("no free slot in the next two weeks"),
}


def _batch_links(batches: list[GenerationBatch]) -> SafeString:
    return format_html_join(
        ", ",
        '<a href="{}">{}</a>',
        (
            (reverse("admin:posting_generationbatch_change", args=[b.pk]), _("batch #%(id)s") % {"id": b.pk})
            for b in batches
        ),
    )
