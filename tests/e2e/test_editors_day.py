"""The editor's day in a real browser, in zh-Hant and in English, over the demo world.

Log in, the dashboard with its charts drawn, the queue, a post page, an edit, approval by a second
reviewer, scheduling into the proposed slot, the publication; no console error on any page. And what
a Writer's and a Reviewer's menus hold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import ConsoleMessage, Error, Page, expect

from demo.world import demo_load
from posting.models import Post

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e, pytest.mark.default_language]

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "e2e"
TEXT = {
    "zh-hant": {"queue": "審核佇列", "pending": "待審核", "approved": "已核准", "scheduled": "已排程", "todo": "你的待辦"},
    "en": {"queue": "Review queue", "pending": "Pending review", "approved": "Approved", "scheduled": "Scheduled",
           "todo": "Your to-do"},
}  # fmt: skip


def _person(role: str, name: str) -> User:
    user = User.objects.create_user(name, password=f"pw-{name}-123", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def _log_in(page: Page, base: str, name: str, language: str) -> None:
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "django_language", "value": language, "url": base}])
    page.goto(f"{base}/admin/login/")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", f"pw-{name}-123")
    page.click("#login-form [type=submit]")
    page.wait_for_url(f"{base}/admin/")


def _watch_console(page: Page) -> list[str]:
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"{page.url}: {message.text}")

    def on_error(error: Error) -> None:
        errors.append(f"{page.url}: {error}")

    def on_response(response: Any) -> None:
        if response.status >= 400:
            errors.append(f"{page.url}: {response.status} {response.url}")

    page.on("console", on_console)
    page.on("pageerror", on_error)
    page.on("response", on_response)
    return errors


def _charts_drawn(page: Page) -> None:
    charts = page.locator("#dashboard-charts canvas.chart")
    expect(charts).to_have_count(2)
    for index in range(2):
        # Chart.js sizes the canvas when it draws it; an undrawn canvas keeps the attribute height.
        page.wait_for_function(
            "(i) => { const c = document.querySelectorAll('#dashboard-charts canvas.chart')[i];"
            " return !!c && !!window.Chart && !!Chart.getChart(c); }",
            arg=index,
        )


@pytest.mark.parametrize("language", ["zh-hant", "en"])
def test_the_editors_day(live_server: Any, page: Page, language: str) -> None:
    demo_load()
    words = TEXT[language]
    _person("Reviewer", "rita")
    _person("Reviewer", "ruby")
    base = live_server.url
    errors = _watch_console(page)

    _log_in(page, base, "rita", language)
    expect(page.locator("#todo")).to_contain_text(words["todo"])
    _charts_drawn(page)

    page.locator("#nav-sidebar-apps").get_by_role("link", name=words["queue"]).click()
    first = page.locator("#result_list tbody tr th a, #result_list tbody tr td a").first
    title = first.inner_text()
    first.click()
    expect(page.locator("#post-status")).to_have_text(words["pending"])
    expect(page.locator("#market-snapshot")).to_be_visible()

    body = page.locator("textarea[name=body]").input_value()
    page.fill("textarea[name=body]", body + "\n\n（補充：量能變化值得留意。）")
    page.click("#save-button")
    expect(page.locator("#preview-body")).to_contain_text("量能變化")
    post = Post.objects.get(title=title, is_demo=True)
    assert post.version == 2

    _log_in(page, base, "ruby", language)  # whoever edited may not approve: a second reviewer does
    page.goto(f"{base}/admin/posting/post/{post.pk}/change/")
    page.click("#approve-button")
    expect(page.locator("#post-status")).to_have_text(words["approved"])

    proposal = page.locator("input[name=at]").input_value()
    assert proposal, "the schedule picker proposes the next free slot"
    page.locator("form:has(input[name=decision][value=schedule]) button[type=submit]").click()
    expect(page.locator("#post-status")).to_have_text(words["scheduled"])
    expect(page.locator("#publications .kol-publication")).to_have_count(1)

    page.goto(f"{base}/admin/posting/publication/overview/")
    expect(page.locator("#content")).to_be_visible()
    page.goto(f"{base}/admin/")
    _charts_drawn(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"editors-day-{language}.png"), full_page=True)

    post.refresh_from_db()
    assert post.status == Post.Status.SCHEDULED and post.approved_by is not None
    assert post.approved_by.username == "ruby"
    assert errors == []


def _menu(page: Page) -> str:
    return page.locator("#nav-sidebar-apps").inner_text()


def test_a_writers_and_a_reviewers_menus(live_server: Any, page: Page) -> None:
    _person("Writer", "wendy")
    _person("Reviewer", "rita")
    base = live_server.url

    _log_in(page, base, "wendy", "zh-hant")
    writer = _menu(page)
    assert "審核佇列" in writer and "生成批次" in writer and "KOL" in writer
    assert "使用者" not in writer and "週期任務" not in writer and "合規規則" not in writer

    _log_in(page, base, "rita", "zh-hant")
    reviewer = _menu(page)
    assert "審核佇列" in reviewer and "待處理的發佈" in reviewer and "排程" in reviewer
    assert "使用者" not in reviewer and "週期任務" not in reviewer and "API 權杖" not in reviewer
