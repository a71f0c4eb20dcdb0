"""Soft edit locks: "X is editing this post". Advisory only; the version check is what prevents
overwrites. Kept in the shared cache with a time-out so a closed tab frees the post by itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache


@dataclass(frozen=True)
class EditLock:
    user_id: int
    username: str
    since: float


def _key(post_id: Any) -> str:
    return f"posting:edit-lock:{post_id}"


def edit_lock_holder(*, post_id: Any) -> EditLock | None:
    value = cache.get(_key(post_id))
    return EditLock(**value) if value else None


def edit_lock_acquire(*, post_id: Any, user: Any) -> EditLock | None:
    """Take or refresh the lock for ``user``. Returns the *other* person holding it, if any."""
    holder = edit_lock_holder(post_id=post_id)
    if holder is not None and holder.user_id != user.pk:
        return holder
    since = holder.since if holder is not None else time.time()
    lock = {"user_id": user.pk, "username": user.get_username(), "since": since}
    cache.set(_key(post_id), lock, timeout=settings.REVIEW_EDIT_LOCK_SECONDS)
    return None


def edit_lock_release(*, post_id: Any, user: Any) -> None:
    holder = edit_lock_holder(post_id=post_id)
    if holder is not None and holder.user_id == user.pk:
        cache.delete(_key(post_id))
