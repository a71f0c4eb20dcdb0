"""Interaction services besides the fixed-age collection: refresh now, pushes, KOL daily totals."""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics import pace
from analytics.clients import ReadFailed, ReadGone
from analytics.clients.cmoney import CMoneyReader
from analytics.clients.webhook import counts_from_json
from analytics.collection import post_collection_stop, snapshot_record, target_for
from analytics.models import CollectionStop, InteractionSnapshot, KOLSnapshot
from analytics.slots import slot_for_age
from config.exceptions import ConflictError, ServiceError
from kols.models import KOL, Platform, PlatformAccount
from posting.models import Backend, Post, Publication, PublicationKind, PublicationStatus

logger = logging.getLogger(__name__)

# "Refresh now" waits at most this long for the read pace.
REFRESH_WAIT_SECONDS = 10.0


class UnknownPost(ServiceError):
    code = "not_found"
    status_code = 404


class PlatformUnavailable(ServiceError):
    code = "platform_unavailable"
    status_code = 503


def snapshot_refresh(*, post: Post, by: Any) -> InteractionSnapshot:
    """Read the post's counts now and append them as an ad-hoc snapshot (never replacing one)."""
    stop = CollectionStop.objects.filter(post_id=post.pk).first()
    if stop is not None:
        raise ConflictError(_("Collection stopped: %(reason)s.") % {"reason": stop.get_reason_display()})
    target = target_for(post=post)
    if not pace.read_take(platform=target.reader.platform, deadline=time.monotonic() + REFRESH_WAIT_SECONDS):
        raise PlatformUnavailable(_("The read pace is used up for now; try again in a minute."))
    try:
        counts = target.reader.read(target.article_id)
    except ReadGone as gone:
        post_collection_stop(post=post, reason=gone.reason, detail=gone.message)
        raise ConflictError(gone.message) from gone
    except ReadFailed as error:
        if error.status == 429:
            pace.read_pause(platform=target.reader.platform, seconds=error.retry_after or 60)
        raise PlatformUnavailable(error.message) from error
    return snapshot_record(
        post=post, counts=counts, captured_at=timezone.now(), source=InteractionSnapshot.Source.ADHOC, by=by
    )


# --- Pushes from the webhook platform -----------------------------------------------------------------


def snapshot_push(*, data: dict[str, Any]) -> InteractionSnapshot:
    """A signed push: ``{"post_id" | "platform_post_id", "captured_at"?, counts...}``. It fills the age slot
    it arrives on time for (when free), else it is an extra snapshot."""
    post = _pushed_post(data)
    captured_at = _pushed_time(data)
    try:
        counts = counts_from_json(data)
    except ReadFailed as error:
        raise ServiceError(error.message, code="invalid") from error
    assert post.published_at is not None
    slot = slot_for_age(age=captured_at - post.published_at)
    if slot and InteractionSnapshot.objects.filter(post=post, slot=slot).exists():
        slot = ""
    try:
        return snapshot_record(
            post=post,
            counts=counts,
            captured_at=captured_at,
            source=InteractionSnapshot.Source.PUSH,
            slot=slot,
        )
    except IntegrityError as exc:
        raise ConflictError(_("This post already has a snapshot at this moment.")) from exc


def _pushed_post(data: dict[str, Any]) -> Post:
    publications = Publication.objects.select_related("post").filter(
        backend=Backend.WEBHOOK, kind=PublicationKind.CREATE, status=PublicationStatus.PUBLISHED
    )
    if data.get("platform_post_id"):
        publication = publications.filter(platform_post_id=str(data["platform_post_id"])).first()
    elif data.get("post_id"):
        # The view's PushSerializer has checked that post_id is a UUID.
        publication = publications.filter(post_id=str(data["post_id"])).first()
    else:
        raise ServiceError(
            _("Name the post: post_id or platform_post_id."),
            code="invalid",
            fields={"post_id": [_("Required.")]},
        )
    if publication is None or publication.post.published_at is None:
        raise UnknownPost(_("No post published through the webhook has this id."))
    return publication.post


def _pushed_time(data: dict[str, Any]) -> dt.datetime:
    value = data.get("captured_at")
    if value is None:
        return timezone.now()
    try:
        when = dt.datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise ServiceError(
            _("captured_at is not an ISO 8601 time."), code="invalid", fields={"captured_at": [_("Invalid.")]}
        ) from exc
    if when.tzinfo is None:
        raise ServiceError(
            _("captured_at needs a time zone."), code="invalid", fields={"captured_at": [_("Invalid.")]}
        )
    return when


# --- KOL totals, daily --------------------------------------------------------------------------------

_MEMBERS_PER_READ = 50


def _cmoney_kols() -> list[tuple[KOL, PlatformAccount]]:
    accounts = PlatformAccount.objects.select_related("kol").filter(
        platform=Platform.CMONEY, kol__status=KOL.Status.ACTIVE
    )
    return [(account.kol, account) for account in accounts if account.has_credentials]


def kol_snapshots_take(*, now: dt.datetime | None = None) -> int:
    """Followers and article totals of every KOL with a CMoney account, once per day (appended)."""
    now = now or timezone.now()
    day = timezone.localdate(now)
    pending = [
        (kol, account)
        for kol, account in _cmoney_kols()
        if not KOLSnapshot.objects.filter(kol=kol, day=day).exists()
    ]
    reader_account = None
    if settings.INTERACTION_READER_ACCOUNT_ID:
        reader_account = PlatformAccount.objects.filter(pk=settings.INTERACTION_READER_ACCOUNT_ID).first()
    groups: list[tuple[PlatformAccount, list[KOL]]]
    if reader_account is not None and reader_account.has_credentials:
        kols = [kol for kol, _account in pending]
        groups = [
            (reader_account, kols[i : i + _MEMBERS_PER_READ]) for i in range(0, len(kols), _MEMBERS_PER_READ)
        ]
    else:
        groups = [(account, [kol]) for kol, account in pending]
    taken = 0
    for account, kols in groups:
        taken += _take_group(account, kols, now, day)
    return taken


def _take_group(account: PlatformAccount, kols: list[KOL], now: dt.datetime, day: dt.date) -> int:
    if not pace.read_take(platform=Platform.CMONEY, deadline=time.monotonic() + 30):
        return 0
    try:
        totals = CMoneyReader(account=account).member_totals([kol.serial for kol in kols])
    except ReadFailed as error:
        logger.warning("KOL totals not read: %s", error.message)
        return 0
    taken = 0
    for kol in kols:
        found = totals.get(kol.serial)
        if found is None:
            continue
        _snapshot, created = KOLSnapshot.objects.get_or_create(
            kol=kol,
            day=day,
            defaults={
                "captured_at": now,
                "followers": found["followers"],
                "articles": found["articles"],
                "raw": found["raw"],
            },
        )
        taken += int(created)
    return taken
