"""After the fact: an outcome nobody knows, an editor's word, and deleting an article from the platform.

A worker that died mid-send leaves its publication ``unknown`` (``publication_mark_stalled``); an editor
settles it by confirming the article is on the forum or by sending it again. ``publication_unpublish``
deletes a published article on the platform and records it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.exceptions import ConflictError
from posting.lifecycle import transitions
from posting.lifecycle.transitions import Actor
from posting.models import Post, Publication
from posting.models import PublicationStatus as S
from posting.publishing.backends import Publisher, SendFailed, publisher_for
from posting.publishing.sending import (
    PUBLISHER,
    PublishingError,
    UnpublishFailed,
    _as_actor,
    _audit,
    _locked,
    _require_publish_permission,
    _save_attempts,
    enqueue_send,
)

# --- After a worker died: reconcile -----------------------------------------------------------------

NO_LOOKUP = gettext_lazy(
    "CMoney documents no way to find an article without its id (no list of an account's articles), so "
    "the platform cannot be asked: check the account on the forum and confirm."
)


def publication_mark_stalled(*, publication: Publication, now: dt.datetime | None = None) -> bool:
    """A ``sending`` row older than the task's hard time limit: its worker died mid-send.

    A dry run sent nothing, so it simply goes again; anything else may be on the platform and becomes
    ``unknown`` for an editor to confirm.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked(publication)
        if locked is None or locked[0].status != S.SENDING:
            return False
        current, post = locked
        if current.is_dry_run:
            Publication.objects.filter(pk=current.pk).update(
                status=S.PENDING, next_attempt_at=now, task_eta=now, note=_("Worker stopped during a dry run; sent again."),
                updated_at=now,
            )  # fmt: skip
            enqueue_send(current.pk, at=now, now=now)
            return True
        message = _("The worker stopped while sending (no outcome was recorded). %(how)s") % {
            "how": NO_LOOKUP
        }
        Publication.objects.filter(pk=current.pk).update(status=S.UNKNOWN, last_error=message, updated_at=now)
        _audit(post, PUBLISHER, "publish_unknown", message)
    return True


def publication_reconcile(*, publication: Publication, by: Any) -> str:
    """Settle an ``unknown`` publication where that can be done without a person; say what to do otherwise."""
    actor = _as_actor(by)
    _require_publish_permission(actor)
    if publication.status != S.UNKNOWN:
        raise ConflictError(_("Only a publication whose outcome is unknown needs reconciling."))
    if publication.is_dry_run:
        publication_resend(publication=publication, by=actor, note=_("A dry run sent nothing: sent again."))
        return _("A dry run sent nothing, so it was simply sent again.")
    return str(NO_LOOKUP)


# --- An editor's word -------------------------------------------------------------------------------


def _article_id_from(url: str, backend: str) -> tuple[str, str]:
    """(platform id, public URL) from what an editor pasted: the article's URL (or, for CMoney, its id)."""
    value = url.strip()
    if backend != "cmoney":
        if not re.match(r"^https?://\S+$", value):
            raise PublishingError(_("Paste the article's address, starting with https://."), code="invalid")
        return "", value
    template = settings.CMONEY_ARTICLE_URL
    pattern = re.escape(template).replace(re.escape("{id}"), r"(?P<id>[A-Za-z0-9_-]+)") + r"/?(?:[?#].*)?$"
    match = re.match(pattern, value)
    if match:
        return match.group("id"), value.split("#")[0].split("?")[0].rstrip("/")
    if re.fullmatch(r"[A-Za-z0-9_-]+", value):
        from posting.publishing.clients.cmoney import article_url

        return value, article_url(value)
    raise PublishingError(
        _("That is not a CMoney article address: expected %(example)s.")
        % {"example": template.replace("{id}", "<id>")},
        code="invalid",
    )


def publication_confirm(*, publication: Publication, by: Any, url: str) -> Publication:
    """ "It is on the forum": an editor pastes the article's address; an unknown publication is published.

    Where the platform can be asked (CMoney's article read), the article is looked up first; an article
    the platform says does not exist is refused.
    """
    actor = _as_actor(by)
    _require_publish_permission(actor)
    if publication.status != S.UNKNOWN:
        raise ConflictError(_("Only a publication whose outcome is unknown can be confirmed."))
    if publication.is_dry_run:
        raise PublishingError(_("A dry run sends nothing, so there is nothing on the forum to confirm."))
    article_id, address = _article_id_from(url, publication.backend)
    note = _verify(publication, article_id)
    now = timezone.now()
    who = actor.name()
    with transaction.atomic():
        locked = _locked(publication)
        if locked is None or locked[0].status != S.UNKNOWN:
            raise ConflictError(_("The publication changed meanwhile; reload the page."))
        current, post = locked
        # An edit's row never holds the article id: the create's row owns the article.
        own_id = "" if current.kind == Publication.Kind.UPDATE else article_id
        Publication.objects.filter(pk=current.pk, status=S.UNKNOWN).update(
            status=S.PUBLISHED, platform_post_id=own_id, platform_post_url=address, finished_at=now,
            note=_("Confirmed on the forum by %(who)s. %(note)s") % {"who": who, "note": note}, updated_at=now,
        )  # fmt: skip
        _audit(
            post,
            actor,
            "publish_confirmed",
            _("It is on the forum: %(url)s %(note)s") % {"url": address, "note": note},
        )
        if post.status == Post.Status.PUBLISHING:
            transitions.post_mark_published(
                post=post, by=PUBLISHER, platform_post_id=article_id, platform_post_url=address, at=now,
                note=_("confirmed by %(who)s") % {"who": who},
            )  # fmt: skip
    current.refresh_from_db()
    return current


def _verify(publication: Publication, article_id: str) -> str:
    """Ask the platform for the article when it can be asked; a 'no such article' refuses the confirmation."""
    if publication.backend != "cmoney" or not article_id:
        return ""
    try:
        publisher = publisher_for(
            kol=publication.post.kol, account=publication.account, backend=publication.backend
        )
    except SendFailed as failure:
        return _("(Not verified on the platform: %(error)s)") % {"error": failure.message}
    try:
        exists = publisher.look_up(article_id)
    except SendFailed as failure:
        return _("(Not verified on the platform: %(error)s)") % {"error": failure.message}
    finally:
        _save_attempts(publication, publisher)
    if not exists:
        raise PublishingError(
            _("CMoney has no article %(id)s: check the address.") % {"id": article_id}, code="not_on_platform"
        )
    if publisher.hidden:
        publication_mark_hidden(publication=publication)
        return _("(On the platform, but hidden by moderation: red-flagged, 紅標.)")
    return _("(Verified on the platform.)")


def publication_mark_hidden(*, publication: Publication) -> None:
    """CMoney answered 404 「紅標」: the article exists, hidden by moderation. Recorded once; never re-sent."""
    now = timezone.now()
    changed = Publication.objects.filter(pk=publication.pk, hidden_by_moderation_at__isnull=True).update(
        hidden_by_moderation_at=now, updated_at=now
    )
    if changed:
        publication.hidden_by_moderation_at = now
        _audit(
            publication.post,
            PUBLISHER,
            "publish_hidden",
            _("CMoney hides the article (red-flagged by moderation, 紅標). It exists: never send it again."),
        )


def publication_resend(*, publication: Publication, by: Any, note: str = "") -> Publication:
    """ "It is not on the forum": send an unknown publication again, once its pace allows."""
    actor = _as_actor(by)
    _require_publish_permission(actor)
    now = timezone.now()
    note = note or _("Not on the forum (editor %(who)s): sending again.") % {"who": actor.name()}
    with transaction.atomic():
        locked = _locked(publication)
        if locked is None or locked[0].status != S.UNKNOWN:
            raise ConflictError(_("Only a publication whose outcome is unknown can be sent again."))
        current, post = locked
        if current.hidden_by_moderation_at is not None:
            raise ConflictError(
                _(
                    "The article is on the platform, hidden by moderation (紅標): sending it again would double-post."
                )
            )
        # The cut-off counts from the editor's decision, not from the original time.
        Publication.objects.filter(pk=current.pk, status=S.UNKNOWN).update(
            status=S.PENDING,
            due_at=now,
            next_attempt_at=now,
            task_eta=now,
            slot_at=None,
            note=note,
            updated_at=now,
        )
        _audit(post, actor, "publish_resend", note)
        enqueue_send(current.pk, at=now, now=now)
    current.refresh_from_db()
    return current


def publication_unpublish(*, post: Post, by: Any) -> Publication:
    """Delete the post's article on the platform and record it; say plainly when that was not possible."""
    actor = _as_actor(by)
    _require_publish_permission(actor)
    publication = (
        Publication.objects.select_related("post__kol", "account")
        .filter(post_id=post.pk, status=S.PUBLISHED, kind=Publication.Kind.CREATE)
        .first()
    )
    if publication is None:
        raise ConflictError(_("The post has no published article to delete."))
    if not publication.is_dry_run and not publication.platform_post_id:
        raise UnpublishFailed(
            _(
                "No platform id was recorded for this article, so it cannot be deleted from here: delete it on the platform by hand."
            )
        )
    note = _delete_on_platform(publication, actor)
    now = timezone.now()
    with transaction.atomic():
        _locked(publication)
        Publication.objects.filter(pk=publication.pk, status=S.PUBLISHED).update(
            status=S.DELETED, deleted_at=now, note=note, updated_at=now
        )
        post = Post.objects.select_for_update().get(pk=publication.post_id)
        if post.status == Post.Status.PUBLISHED:
            transitions.post_unpublish(post=post, by=actor, note=note)
        else:  # the article is gone either way; record it without inventing a status change
            _audit(post, actor, "unpublish", note)
    publication.refresh_from_db()
    return publication


def _delete_on_platform(publication: Publication, actor: Actor) -> str:
    publisher: Publisher | None = None
    try:
        publisher = publisher_for(
            kol=publication.post.kol, account=publication.account, backend=publication.backend
        )
        publisher.delete(publication.platform_post_id)
    except SendFailed as failure:
        if not failure.not_found:
            message = _("Could not delete the article on the platform: %(error)s It is still online.") % {
                "error": failure.message
            }
            with transaction.atomic():
                if publisher is not None:
                    _save_attempts(publication, publisher)
                Publication.objects.filter(pk=publication.pk).update(
                    last_error=message, last_http_status=failure.http_status
                )
                _audit(publication.post, actor, "unpublish_failed", message)
            raise UnpublishFailed(message) from failure
        note = _("The platform had no article %(id)s any more (404); recorded as deleted.") % {
            "id": publication.platform_post_id
        }
    else:
        note = (
            _("Dry run: there was nothing on the platform to delete.")
            if publisher.dry_run
            else _("Deleted from the platform; our copy of the post is kept.")
        )
    if publisher is not None:
        _save_attempts(publication, publisher)
    return note
