"""Snapshots entered by people or other systems (API, batch, CSV, admin upload): one validation for all.

A batch is validated as a whole: every row's errors are reported (``rows[<n>].<field>``) and nothing is
stored when any row is bad.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import serializers

from analytics.collection import snapshot_record
from analytics.models import METRICS, InteractionSnapshot
from config.exceptions import ServiceError
from posting.models import Backend, Post, Publication, PublicationKind, PublicationStatus

# A snapshot may be stamped at most this far ahead of the server clock.
FUTURE_SKEW = dt.timedelta(minutes=5)
CSV_COLUMNS = ["post", "captured_at", *METRICS, "slot"]


class InvalidInput(ServiceError):
    code = "invalid"
    status_code = 400


class CountsSerializer(serializers.Serializer[dict[str, Any]]):
    """The counts of one reading as entered (a row, an upload, a push): absent metrics stay empty, not zero."""

    likes = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    comments = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    shares = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    saves = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    tips = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    views = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    reactions = serializers.DictField(child=serializers.IntegerField(min_value=0), required=False)


class SnapshotRowSerializer(CountsSerializer):
    """One snapshot as entered: the counts at one moment."""

    post = serializers.UUIDField(help_text=_("The post's id."))
    captured_at = serializers.DateTimeField(help_text=_("When the counts were read (with a time zone)."))
    slot = serializers.ChoiceField(
        choices=[],
        required=False,
        allow_blank=True,
        help_text=_("A fixed age this snapshot fills (e.g. 24h)."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["slot"].choices = settings.INTERACTION_SLOTS  # type: ignore[attr-defined]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if all(attrs.get(name) is None for name in METRICS):
            raise serializers.ValidationError(_("Give at least one count."))
        if attrs["captured_at"] > timezone.now() + FUTURE_SKEW:
            raise serializers.ValidationError({"captured_at": [_("This time is in the future.")]})
        return attrs


def _real_posts(ids: set[Any]) -> dict[str, Post]:
    real = Publication.objects.filter(
        post=OuterRef("pk"),
        kind=PublicationKind.CREATE,
        status__in=[PublicationStatus.PUBLISHED, PublicationStatus.DELETED],
    ).exclude(backend=Backend.DRY_RUN)
    posts = Post.objects.filter(pk__in=ids, published_at__isnull=False).filter(Exists(real))
    return {str(post.pk): post for post in posts}


def _taken(posts: dict[str, Post]) -> tuple[set[tuple[str, str]], set[tuple[str, dt.datetime]]]:
    rows = InteractionSnapshot.objects.filter(post_id__in=list(posts)).values_list(
        "post_id", "slot", "captured_at"
    )
    slots = {(str(post), slot) for post, slot, _at in rows if slot}
    moments = {(str(post), at) for post, _slot, at in rows}
    return slots, moments


def rows_validate(rows: list[Any]) -> list[dict[str, Any]]:
    """Every row checked, alone and against the others and the stored snapshots; InvalidInput lists all."""
    errors: dict[str, list[str]] = {}
    clean: list[tuple[int, dict[str, Any]]] = []
    for index, row in enumerate(rows):
        serializer = SnapshotRowSerializer(data=row)
        if serializer.is_valid():
            clean.append((index, dict(serializer.validated_data)))
            continue
        for name, messages in serializer.errors.items():
            key = f"rows[{index}]" if name == "non_field_errors" else f"rows[{index}].{name}"
            errors[key] = [str(message) for message in messages]
    posts = _real_posts({data["post"] for _i, data in clean})
    slots, moments = _taken(posts)
    for index, data in clean:
        for name, message in _row_conflicts(data, posts, slots, moments).items():
            errors.setdefault(f"rows[{index}].{name}", []).append(message)
    if errors:
        raise InvalidInput(
            _("%(bad)d of %(total)d rows are invalid; nothing was stored.")
            % {"bad": _bad_rows(errors), "total": len(rows)},
            fields=errors,
        )
    return [{**data, "post": posts[str(data["post"])]} for _i, data in clean]


def _bad_rows(errors: dict[str, list[str]]) -> int:
    return len({key.split("]")[0] for key in errors})


def _row_conflicts(
    data: dict[str, Any],
    posts: dict[str, Post],
    slots: set[tuple[str, str]],
    moments: set[tuple[str, dt.datetime]],
) -> dict[str, str]:
    post = posts.get(str(data["post"]))
    if post is None:
        return {"post": _("No such post published on a platform (dry runs have no interactions).")}
    assert post.published_at is not None
    problems: dict[str, str] = {}
    if data["captured_at"] < post.published_at:
        problems["captured_at"] = _("This is before the post was published.")
    key = str(post.pk)
    if (key, data["captured_at"]) in moments:
        problems["captured_at"] = _("This post already has a snapshot at this moment.")
    moments.add((key, data["captured_at"]))
    slot = data.get("slot") or ""
    if slot and (key, slot) in slots:
        problems["slot"] = _("This post's %(slot)s snapshot is already taken.") % {"slot": slot}
    if slot:
        slots.add((key, slot))
    return problems


def snapshots_import(*, rows: list[Any], source: str, by: Any = None) -> list[InteractionSnapshot]:
    """Validate every row, then store all of them in one transaction (or none)."""
    valid = rows_validate(rows)
    try:
        with transaction.atomic():
            return [
                snapshot_record(
                    post=data["post"],
                    counts=_Counts(data),
                    captured_at=data["captured_at"],
                    source=source,
                    slot=data.get("slot") or "",
                    by=by,
                )
                for data in valid
            ]
    except IntegrityError as exc:  # a snapshot stored meanwhile by someone else
        raise InvalidInput(
            _("A snapshot for one of these posts was stored meanwhile; nothing was stored. Try again.")
        ) from exc


class _Counts:
    def __init__(self, data: dict[str, Any]) -> None:
        for name in METRICS:
            setattr(self, name, data.get(name))
        self.reactions = data.get("reactions") or {}
        self.raw: dict[str, Any] = {}


def csv_rows(content: str) -> list[dict[str, Any]]:
    """The rows of a CSV upload (header: post, captured_at, likes, comments, shares, saves, tips, views, slot);
    empty cells are absent metrics."""
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff")))
    header = [name.strip() for name in reader.fieldnames or []]
    if "post" not in header or "captured_at" not in header:
        raise InvalidInput(
            _(
                "The CSV needs a header row with at least the columns post and captured_at (then any of: %(cols)s)."
            )
            % {"cols": ", ".join([*METRICS, "slot"])}
        )
    unknown = sorted(set(header) - set(CSV_COLUMNS))
    if unknown:
        raise InvalidInput(_("Unknown CSV columns: %(cols)s.") % {"cols": ", ".join(unknown)})
    return [
        {
            key.strip(): value.strip()
            for key, value in row.items()
            if key and value is not None and value.strip() != ""
        }
        for row in reader
    ]
