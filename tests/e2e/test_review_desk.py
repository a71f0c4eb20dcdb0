"""A reviewer reviews a draft in a real browser; a writer cannot approve."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import Page, expect

from posting.models import Post
from posting.review.services import post_create_draft
from tests.factories import KOLFactory, StockFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e, pytest.mark.default_language]

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "e2e"


def _person(role: str, name: str) -> User:
    user = User.objects.create_user(name, password=f"pw-{name}-123", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def _log_in(page: Page, base: str, name: str) -> None:
    page.goto(f"{base}/admin/login/")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", f"pw-{name}-123")
    page.click("#login-form [type=submit]")
    try:
        page.wait_for_url(f"{base}/admin/")
    except Exception:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "login-failed.png"), full_page=True)
        raise


@pytest.fixture
def draft(transactional_db: None) -> Post:
    return post_create_draft(
        kol=KOLFactory(nickname="價值投資小王"),
        stock=StockFactory(code="2330", name="台積電"),
        title="台積電今日收盤觀察",
        body="今天收盤104元，漲幅約4%。投資有風險，請自行判斷。",
    )


def test_a_reviewer_edits_and_approves_a_draft(
    live_server: Any, draft: Post, settings: Any, page: Page
) -> None:
    settings.REVIEW_ALLOW_SELF_APPROVAL = True  # the one-person-team setting: edit, then approve
    _person("Reviewer", "rita")
    base = live_server.url
    _log_in(page, base, "rita")

    page.goto(f"{base}/admin/posting/post/")
    page.get_by_role("link", name=draft.title).click()
    expect(page.locator("#post-status")).to_have_text("待審核")

    page.fill("textarea[name=body]", "今天收盤104元，漲幅約4%，成交量放大。投資有風險，請自行判斷。")
    page.click("#save-button")
    expect(page.locator("#preview-body")).to_contain_text("成交量放大")

    page.click("#approve-button")
    expect(page.locator("#post-status")).to_have_text("已核准")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "review-approved.png"), full_page=True)

    draft.refresh_from_db()
    assert draft.status == Post.Status.APPROVED and draft.version == 2
    assert draft.approved_by is not None and draft.approved_by.username == "rita"


def test_by_default_whoever_edited_cannot_approve(live_server: Any, draft: Post, page: Page) -> None:
    _person("Reviewer", "rita")
    base = live_server.url
    _log_in(page, base, "rita")
    page.goto(f"{base}/admin/posting/post/{draft.pk}/change/")
    page.fill("textarea[name=body]", draft.body + "（補充）")
    page.click("#save-button")
    # The button is disabled, and the reason beside it names who else may approve.
    expect(page.locator("#approve-button")).to_be_disabled()
    expect(page.locator("#approve-refusal")).to_contain_text("REVIEW_ALLOW_SELF_APPROVAL")
    expect(page.locator("#post-status")).to_have_text("待審核")
    draft.refresh_from_db()
    assert draft.status == Post.Status.PENDING_REVIEW


def test_a_writer_cannot_approve(live_server: Any, draft: Post, page: Page) -> None:
    _person("Writer", "wendy")
    base = live_server.url
    _log_in(page, base, "wendy")
    page.goto(f"{base}/admin/posting/post/{draft.pk}/change/")
    expect(page.locator("#edit-form")).to_be_visible()
    expect(page.locator("#approve-button")).to_have_count(0)

    # Even a hand-made request is refused, with a message, and changes nothing.
    token = page.locator("input[name=csrfmiddlewaretoken]").first.get_attribute("value")
    response = page.request.post(
        f"{base}/admin/posting/post/{draft.pk}/decide/",
        form={"decision": "approve", "version": str(draft.version), "csrfmiddlewaretoken": token or ""},
        headers={"Referer": f"{base}/admin/posting/post/{draft.pk}/change/"},
    )
    assert response.ok
    draft.refresh_from_db()
    assert draft.status == Post.Status.PENDING_REVIEW


def test_admin_pages_swagger_and_the_batch_page_raise_no_csp_errors(
    live_server: Any, draft: Post, page: Page
) -> None:
    from tests.factories import GenerationBatchFactory

    User.objects.create_superuser("sam", password="pw-sam-123")
    batch = GenerationBatchFactory()
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )
    base = live_server.url
    _log_in(page, base, "sam")
    for path in [
        "/admin/",
        "/admin/posting/post/",
        f"/admin/posting/post/{draft.pk}/change/",
        "/admin/posting/post/add/",
        f"/admin/posting/generationbatch/{batch.pk}/change/",
        "/admin/kols/apitoken/",
        "/api/docs/",
    ]:
        page.goto(f"{base}{path}")
        page.wait_for_load_state("networkidle")
    expect(page.locator(".swagger-ui")).to_be_visible()
    assert violations == []
