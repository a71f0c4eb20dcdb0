from __future__ import annotations

import gettext
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from posting.models import Post

pytestmark = pytest.mark.default_language


def test_the_interface_defaults_to_traditional_chinese() -> None:
    assert settings.LANGUAGE_CODE == "zh-hant"
    assert settings.TIME_ZONE == "Asia/Taipei" and settings.USE_TZ


def test_our_strings_are_translated_in_the_shipped_catalogue() -> None:
    with translation.override("zh-hant"):
        assert str(Post.Status.PENDING_REVIEW.label) == "待審核"
        assert str(Post._meta.verbose_name) == "貼文"
    with translation.override("en"):
        assert str(Post.Status.PENDING_REVIEW.label) == "Pending review"


@pytest.mark.django_db
def test_the_admin_login_page_is_in_chinese_by_default() -> None:
    page = Client().get("/admin/login/").content.decode()
    assert "KOL Studio" in page
    assert "登入" in page


def _po_entries(text: str) -> list[tuple[str, str, str]]:
    """(flags, msgid, msgstr) of each entry of a .po file, with continuation lines joined."""
    entries = []
    for block in text.split("\n\n"):
        lines = block.strip().splitlines()
        flags = " ".join(line for line in lines if line.startswith("#,"))
        fields: dict[str, str] = {}
        key = ""
        for line in lines:
            if line.startswith("#"):
                continue
            if line.startswith('"'):
                fields[key] += line[1:-1]
                continue
            key, _sep, rest = line.partition(" ")
            fields[key] = rest[1:-1]
        msgstr = fields.get("msgstr", fields.get("msgstr[0]", ""))
        msgid = fields.get("msgid", "").replace('\\"', '"').replace("\\n", "\n")
        if "msgctxt" in fields and msgid:  # how gettext keys a message with a context
            msgid = f"{fields['msgctxt']}\x04{msgid}"
        entries.append((flags, msgid, msgstr))
    return entries


def test_the_shipped_catalogue_is_complete_and_compiled() -> None:
    folder = Path(settings.BASE_DIR) / "locale" / "zh_Hant" / "LC_MESSAGES"
    entries = [entry for entry in _po_entries((folder / "django.po").read_text()) if entry[1]]
    assert len(entries) > 900
    assert [msgid for flags, msgid, _msgstr in entries if "fuzzy" in flags] == []
    assert [msgid for _flags, msgid, msgstr in entries if not msgstr] == []
    with (folder / "django.mo").open("rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)
    assert catalogue.gettext("Trigger workbench") == "觸發條件工作台"
    compiled_ids = {key[0] if isinstance(key, tuple) else key for key in catalogue._catalog}
    assert {msgid for _flags, msgid, _msgstr in entries} <= compiled_ids
