"""Reads for the admin: the Publications card of a post page, and the publishing overview."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from kols.models import PlatformAccount
from posting.models import Backend, PlatformHalt, Post, Publication, PublishAttempt
from posting.models import PublicationStatus as S
from posting.publishing.outbox import PUBLISH_PERMISSION

_READY = (Post.Status.APPROVED, Post.Status.SCHEDULED)
# Pages never need an account's credentials: they are not even decrypted.
SECRETS = ("login", "password", "access_token")
_ACCOUNT_SECRETS = tuple(f"account__{name}" for name in SECRETS)
_LIST_LIMIT = 50


def publications_of(post: Post) -> QuerySet[Publication]:
    attempts = PublishAttempt.objects.order_by("started_at", "id")
    return (
        Publication.objects.filter(post_id=post.pk)
        .select_related("account")
        .defer(*_ACCOUNT_SECRETS)
        .prefetch_related(Prefetch("attempts", queryset=attempts))
        .order_by("-created_at", "-id")
    )


def publishing_panel(*, post: Post, user: Any) -> dict[str, Any]:
    """What the post page shows about publishing, and which buttons the person may press."""
    publications = list(publications_of(post))
    can_publish = bool(user.has_perm(PUBLISH_PERMISSION))
    open_ = next(
        (p for p in publications if p.status in (S.PENDING, S.FAILED_RETRYABLE, S.SENDING, S.UNKNOWN)), None
    )
    published = next((p for p in publications if p.status == S.PUBLISHED and p.kind == "create"), None)
    return {
        "publications": publications,
        "can_publish": can_publish,
        "can_publish_now": can_publish
        and post.status in _READY
        and (open_ is None or open_.status == S.PENDING),
        "published": published,
        "halts": list(PlatformHalt.objects.all()),
    }


def _counts(now: dt.datetime) -> dict[str, Any]:
    day_ago = now - dt.timedelta(hours=24)
    return {
        "due": Count("id", filter=Q(status__in=(S.PENDING, S.FAILED_RETRYABLE), due_at__lte=now)),
        "upcoming": Count(
            "id", filter=Q(status=S.PENDING, due_at__gt=now, due_at__lte=now + dt.timedelta(hours=24))
        ),
        "in_flight": Count("id", filter=Q(status=S.SENDING)),
        "unknown": Count("id", filter=Q(status=S.UNKNOWN)),
        "failed_24h": Count(
            "id",
            filter=Q(status__in=(S.FAILED_PERMANENT, S.CANCELLED), finished_at__gte=day_ago)
            | Q(status=S.FAILED_RETRYABLE),
        ),
        "published_24h": Count("id", filter=Q(status=S.PUBLISHED, finished_at__gte=day_ago)),
        "dry_runs_24h": Count(
            "id", filter=Q(status=S.PUBLISHED, finished_at__gte=day_ago, backend=Backend.DRY_RUN)
        ),
        "last_sent": Max("claimed_at"),
    }


def publishing_overview(*, now: dt.datetime | None = None) -> dict[str, Any]:
    """Due, in flight, unknown and failed in the last 24 hours: overall, as lists, and per account."""
    now = now or timezone.now()
    day_ago = now - dt.timedelta(hours=24)
    rows = (
        Publication.objects.select_related("post__kol", "account")
        .defer(*_ACCOUNT_SECRETS)
        .order_by("due_at", "id")
    )
    per_account: list[dict[str, Any]] = [
        dict(row)
        for row in Publication.objects.values("account_id").annotate(**_counts(now)).order_by("account_id")
    ]
    accounts = (
        PlatformAccount.objects.select_related("kol")
        .defer(*SECRETS)
        .in_bulk([row["account_id"] for row in per_account if row["account_id"]])
    )
    for row in per_account:
        row["account"] = accounts.get(row["account_id"])
    return {
        "now": now,
        "totals": Publication.objects.aggregate(**_counts(now)),
        "due": rows.filter(status__in=(S.PENDING, S.FAILED_RETRYABLE), due_at__lte=now)[:_LIST_LIMIT],
        "in_flight": rows.filter(status=S.SENDING)[:_LIST_LIMIT],
        "unknown": rows.filter(status=S.UNKNOWN)[:_LIST_LIMIT],
        "failed": rows.filter(
            Q(status__in=(S.FAILED_PERMANENT, S.CANCELLED), finished_at__gte=day_ago)
            | Q(status=S.FAILED_RETRYABLE)
        ).order_by("-finished_at", "-id")[:_LIST_LIMIT],
        "per_account": [
            row
            for row in per_account
            if any(
                row[key] for key in ("due", "upcoming", "in_flight", "unknown", "failed_24h", "published_24h")
            )
        ],
        "paused_accounts": PlatformAccount.objects.select_related("kol").filter(
            status=PlatformAccount.Status.PAUSED
        )[:_LIST_LIMIT],
    }


_SENT = (S.PUBLISHED, S.DELETED, S.UNKNOWN, S.SENDING)


def posts_with_dry_run(queryset: QuerySet[Post]) -> QuerySet[Post]:
    """Annotate ``dry_run``: the post was (or, not sent yet, will be) a dry run, recorded and never sent.

    A real send decides it (False); else a dry-run publication (True); else the KOL's dry-run switch.
    """
    sent = Publication.objects.filter(post=OuterRef("pk"), status__in=_SENT)
    return queryset.annotate(
        dry_run=Case(
            When(Exists(sent.exclude(backend__in=("", Backend.DRY_RUN))), then=Value(False)),
            When(Exists(sent.filter(backend=Backend.DRY_RUN)), then=Value(True)),
            default=F("kol__dry_run"),
            output_field=BooleanField(),
        )
    )
