"""Every admin page, in zh-Hant, with the demo world loaded, shows no English words except names.

The page's visible text is what a person reads: tags, scripts, styles, icon ligatures (material symbols),
form values the person typed (textarea, option, input) and ``<code>`` identifiers are left out; URLs,
UUIDs and e-mail addresses are dropped. What remains must be Chinese, figures, or a name on ``NAMES``.
django-celery-beat's pages are superuser internals, shown only to superusers, and not ours to translate.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client, RequestFactory
from django.urls import reverse

from kols.models import KOL, PromptTemplate
from kols.tokens import api_token_create
from posting.models import ComplianceRule, Post, Publication
from scheduling.models import Schedule, ScheduleRun
from tests.factories import NewsFeedFactory, ScheduleRunFactory, TradingDayOverrideFactory

pytestmark = [pytest.mark.django_db, pytest.mark.default_language]

# Names, units and codes that stay as they are in a Chinese interface.
NAMES = {
    "KOL", "KOLs", "Studio", "API", "CMoney", "Webhook", "LLM", "ID", "HTTP", "JSON", "URL", "RSS", "Atom",
    "Serper", "TWSE", "TPEx", "KY", "ETF", "AI", "LINE", "Python", "Django", "HH", "MM", "Asia", "Taipei",
    "English", "Cron", "token", "tokens", "Token", "FinLab", "OpenAI", "Email", "email", "DR", "ESG",
    "MACD", "KD", "RSI", "zh", "hant", "en", "esc", "Ctrl", "Mac", "LDAP", "Schema",
    "CSV", "ETN", "TDR", "REIT", "REITs",  # a file format and instrument types, named as in Taiwan
    "md",  # the tests' password hasher (MD5), named in the password field's summary
}  # fmt: skip
# Third-party pages only superusers open (beat internals; django-axes lockout records): not ours to word.
SKIPPED_APPS = {"django_celery_beat", "axes"}
_VOID = {"br", "img", "input", "meta", "link", "hr", "col", "source", "wbr", "area", "base", "embed"}
_HIDDEN = {"script", "style", "template", "textarea", "option", "code", "noscript", "title"}
# URLs, e-mail addresses, ids and hashes (UUIDs, token keys, password hashes), template code ({{ x }}).
_NOISE = re.compile(
    r"https?://\S+|[\w.+-]+@[\w-]+\.[\w.]+|\b[0-9a-f-]*[0-9][0-9a-f-]*[a-f][0-9a-f-]*\b|\b[0-9a-f-]*[a-f][0-9a-f-]*[0-9][0-9a-f-]*\b"
    r"|\S+\$\S+|\w+\*{3,}|\{\{.*?\}\}|\{%.*?%\}|\b[a-z]+(?:-[a-z]+)*-v\d+\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*[A-Za-z]")


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hidden: list[bool] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            return
        classes = dict(attrs).get("class") or ""
        self.hidden.append(tag in _HIDDEN or "material-symbols" in classes)

    def handle_endtag(self, tag: str) -> None:
        if tag not in _VOID and self.hidden:
            self.hidden.pop()

    def handle_data(self, data: str) -> None:
        if not any(self.hidden):
            self.parts.append(data)


def given_names() -> list[str]:
    """Identifiers people gave to rows (a rule's code, a template's version, a serial): names, not words."""
    values = [
        *ComplianceRule.objects.values_list("code", flat=True),
        *PromptTemplate.objects.values_list("version", flat=True),
        *Post.objects.exclude(prompt_version="").values_list("prompt_version", flat=True).distinct(),
        *KOL.objects.values_list("serial", flat=True),
    ]
    return sorted(set(values), key=len, reverse=True)


def english_words(html: str, names: list[str] = ()) -> set[str]:  # type: ignore[assignment]
    parser = _VisibleText()
    parser.feed(html)
    text = _NOISE.sub(" ", " ".join(parser.parts))
    for name in names:
        text = re.sub(re.escape(name), " ", text, flags=re.IGNORECASE)
    return {word for word in _WORD.findall(text) if word not in NAMES}


def _world(demo_world: dict[str, int]) -> None:
    """The demo world, plus a row of every model the demo does not fill."""
    TradingDayOverrideFactory()
    NewsFeedFactory()
    schedule = Schedule.objects.get(is_demo=True)
    ScheduleRunFactory(schedule=schedule)
    ScheduleRunFactory(schedule=schedule, skip_reason=ScheduleRun.SkipReason.NO_KOL_AVAILABLE, message="")


def _pages(user: User) -> list[str]:
    request = RequestFactory().get("/admin/")
    request.user = user
    urls = [reverse("admin:index")]
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label in SKIPPED_APPS:
            continue
        info = (model._meta.app_label, model._meta.model_name)
        urls.append(reverse("admin:{}_{}_changelist".format(*info)))
        urls.append(reverse("admin:{}_{}_changelist".format(*info)) + "?q=zzzz-nothing")
        if model_admin.has_add_permission(request):
            urls.append(reverse("admin:{}_{}_add".format(*info)))
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            urls.append(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
    for status in Post.Status.values:
        post = Post.objects.filter(status=status).first()
        assert post is not None, status
        urls.append(reverse("admin:posting_post_change", args=[post.pk]))
        urls.append(reverse("admin:posting_post_changelist") + f"?status={status}")
    for publication in Publication.objects.all():
        urls.append(reverse("admin:posting_publication_change", args=[publication.pk]))
    schedule = Schedule.objects.get(is_demo=True)
    urls += [
        reverse("admin:posting_publication_overview"),
        reverse("admin:posting_generationbatch_start"),
        reverse("admin:scheduling_schedule_workbench"),
        reverse("admin:scheduling_schedule_change", args=[schedule.pk]),
        *[reverse("admin:scheduling_schedulerun_change", args=[run.pk]) for run in ScheduleRun.objects.all()],
    ]
    return urls


def _action_pages(client: Client) -> dict[str, Any]:
    """The confirmation pages of bulk actions that ask before they act."""
    pages = {}
    pending = [
        str(pk) for pk in Post.objects.filter(status=Post.Status.PENDING_REVIEW).values_list("pk", flat=True)
    ]
    for action in ("reject_selected", "request_changes_selected"):
        pages[action] = client.post(
            reverse("admin:posting_post_changelist"), {"action": action, "_selected_action": pending}
        )
    published = Publication.objects.filter(status=Publication.Status.PUBLISHED).values_list("pk", flat=True)
    pages["unpublish_selected"] = client.post(
        reverse("admin:posting_publication_changelist"),
        {"action": "unpublish_selected", "_selected_action": [str(pk) for pk in published]},
    )
    return pages


def test_every_admin_page_and_action_page_is_in_chinese(demo_world: dict[str, int]) -> None:
    _world(demo_world)
    user = User.objects.create_superuser("小編", "editor@example.com", "pw")
    api_token_create(user=user, name="每日報表")
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hant")
    client.force_login(user)
    leftovers: dict[str, set[str]] = {}
    names = given_names()
    for url in _pages(user):
        response = client.get(url, follow=True)
        assert response.status_code == 200, url
        if words := english_words(response.content.decode(), names):
            leftovers[url] = words
    for action, response in _action_pages(client).items():
        assert response.status_code == 200, action
        if words := english_words(response.content.decode(), names):
            leftovers[action] = words
    assert leftovers == {}, "\n".join(f"{url}: {sorted(words)}" for url, words in leftovers.items())


def test_the_check_finds_english_and_lets_names_through() -> None:
    html = (
        "<p>審核 Pending review</p><script>var x</script><span class='material-symbols-outlined'>rule</span>"
    )
    assert english_words(html + "<p>KOL · CMoney https://x.example/a</p>") == {"Pending", "review"}
