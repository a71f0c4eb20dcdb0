"""The review spine under races, with real threads on PostgreSQL, 100 rounds each.

An approval must cover exactly the text that was checked, never the approver's own text, and of two
approvals at once exactly one wins while the other hears who won.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection

from config.exceptions import ServiceError
from kols.roles import REVIEWER, WRITER
from posting.models import Approval, Post, PostRevision, Publication
from posting.models import PublicationStatus as PS
from posting.publishing.outbox import publication_publish_now
from posting.publishing.sending import publication_send
from posting.review.services import post_approve, post_create_draft, post_run_checks, post_update_text
from tests.factories import KOLFactory, StockFactory, default_compliance_rules
from tests.posting.publishing_support import EDITOR, configure, platform  # noqa: F401 (fixture)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 100
CLEAN = "今天收盤104元，漲幅約4%。投資有風險，請自行判斷。"
BLOCKING = "保證獲利，想跟單的私訊我"


@pytest.fixture
def people(transactional_db: None) -> Iterator[dict[str, User]]:
    default_compliance_rules()

    def make(name: str, role: str) -> User:
        user = User.objects.create_user(name, is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        return user

    yield {"w1": make("w1", WRITER), "r1": make("r1", REVIEWER), "r2": make("r2", REVIEWER)}


def _race(*steps: Callable[[], Any]) -> list[Any]:
    """Run the steps at once, each on its own thread and connection; each one's result or error."""
    barrier = threading.Barrier(len(steps))
    results: list[Any] = [None] * len(steps)

    def run(index: int, step: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = step()
        except ServiceError as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, step)) for i, step in enumerate(steps)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _checked_post(kol: Any = None) -> Post:
    post = post_create_draft(kol=kol or KOLFactory(), stock=StockFactory(), title="台積電觀察", body=CLEAN)
    return post_run_checks(post=post)


def _edit(post: Post, by: User, body: str) -> Callable[[], Any]:
    return partial(
        post_update_text, post=Post.objects.get(pk=post.pk), by=by, title=post.title, body=body,
        expected_version=post.version,
    )  # fmt: skip


def _approve(post: Post, by: User, version: int | None) -> Callable[[], Any]:
    return partial(post_approve, post=Post.objects.get(pk=post.pk), by=by, expected_version=version)


def test_an_edit_adding_blocking_text_while_a_reviewer_approves_never_gets_it_approved_or_sent(
    people: dict[str, User],
    settings: Any,
    platform: Any,  # noqa: F811
) -> None:
    configure(settings, platform)
    kol = KOLFactory(dry_run=True, max_posts_per_hour=1000, max_posts_per_day=1000)
    for round_ in range(ROUNDS):
        post = _checked_post(kol=kol)
        assert not post.has_blocking_finding
        # Half the approvals carry the version the reviewer saw, half none (like a bulk action).
        seen = post.version if round_ % 2 else None
        _race(_edit(post, people["w1"], CLEAN + BLOCKING), _approve(post, people["r1"], seen))
        post.refresh_from_db()
        if post.status == Post.Status.APPROVED:
            assert BLOCKING not in PostRevision.objects.get(post=post, version=post.approved_version).body
            with contextlib.suppress(ServiceError):
                publication_send(publication_id=publication_publish_now(post=post, by=EDITOR).pk)
    for approval in Approval.objects.select_related("post"):
        assert BLOCKING not in PostRevision.objects.get(post=approval.post, version=approval.version).body
    for publication in Publication.objects.filter(status=PS.PUBLISHED):
        text = PostRevision.objects.get(post_id=publication.post_id, version=publication.post_version).body
        assert BLOCKING not in text
    assert not Post.objects.filter(body__contains=BLOCKING, status__in=Post.APPROVED_STATES).exists()
    # Some approvals won the race (of the clean text) and were sent.
    assert Approval.objects.exists() and Publication.objects.filter(status=PS.PUBLISHED).exists()


def test_a_reviewer_editing_and_approving_at_once_never_approves_their_own_text(
    people: dict[str, User],
) -> None:
    reviewer = people["r1"]
    for _round in range(ROUNDS):
        post = _checked_post()
        _race(_edit(post, reviewer, CLEAN + "補充。"), _approve(post, reviewer, None))
    for approval in Approval.objects.filter(approved_by=reviewer):
        own = PostRevision.objects.filter(
            post=approval.post_id, version__lte=approval.version, edited_by=reviewer
        )
        assert not own.exists()


def test_two_reviewers_approving_at_once_one_wins_and_the_other_hears_who(people: dict[str, User]) -> None:
    first, second = people["r1"], people["r2"]
    for _round in range(ROUNDS):
        post = _checked_post()
        results = _race(_approve(post, first, post.version), _approve(post, second, post.version))
        winners = [result for result in results if isinstance(result, Post)]
        losers = [result for result in results if isinstance(result, ServiceError)]
        assert len(winners) == 1 and len(losers) == 1
        winner = Approval.objects.get(post=post).approved_by
        assert winner is not None
        assert losers[0].code == "already_approved" and losers[0].status_code == 409
        assert f"Already approved by {winner.username}" in losers[0].message
