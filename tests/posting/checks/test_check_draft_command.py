from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import PYTHON, ROOT, child_env, database_url_for_subprocess
from tests.factories import PostFactory, StockFactory
from tests.posting.checks_support import SNAPSHOT

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("default_rules")]
CLEAN = "台積電今天收盤104元，上漲4元，漲幅約4%，成交量約1.2萬張。短線偏多。投資有風險，請自行判斷。"


def _run(monkeypatch: pytest.MonkeyPatch, payload: Any) -> dict[str, Any]:
    raw = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(raw))
    out = io.StringIO()
    call_command("check_draft", stdout=out)
    return json.loads(out.getvalue())


def _refused(monkeypatch: pytest.MonkeyPatch, payload: Any) -> str:
    with pytest.raises(CommandError) as caught:
        _run(monkeypatch, payload)
    assert caught.value.returncode == 2
    return str(caught.value)


def test_a_clean_grounded_draft_is_low_risk(monkeypatch: pytest.MonkeyPatch) -> None:
    StockFactory.create(code="2330", name="台積電")
    report = _run(
        monkeypatch, {"title": "台積電盤後", "content": CLEAN, "stock_code": "2330", "snapshot": SNAPSHOT}
    )
    assert report["risk_level"] == "low"
    assert report["findings"] == []
    assert 0 <= report["quality_score"] <= 1
    assert report["max_similarity"] == 0.0
    assert report["grounding"]["checked"] is True


def test_a_problem_draft_lists_each_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    report = _run(
        monkeypatch,
        {
            "title": "台積電必漲",
            "content": "台積电收盘106元，保证获利，加LINE领飙股。",
            "snapshot": SNAPSHOT,
            "compare_with": ["台積電收盤110元，保證獲利，加LINE領飆股。"],
        },
    )
    codes = {finding["code"] for finding in report["findings"]}
    assert report["risk_level"] == "blocked"
    assert {"compliance.guaranteed_return", "compliance.solicitation", "grounding.ungrounded_price"} <= codes
    assert any("duplicate" in code for code in codes)
    assert report["max_similarity"] >= 0.85
    for finding in report["findings"]:
        assert set(finding) >= {"code", "severity", "excerpt", "message", "start", "end"}


def test_it_works_on_an_empty_database_with_only_the_seeded_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    report = _run(
        monkeypatch, {"title": "長榮", "content": "長榮(2603)今天跌了1塊，我還是看好。", "stock_code": "2603"}
    )
    assert report["grounding"]["checked"] is False
    assert [f["code"] for f in report["findings"]] == ["compliance.missing_risk_reminder"]


def test_recent_posts_are_compared_unless_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    PostFactory.create(body=CLEAN)
    assert _run(monkeypatch, {"title": "盤後", "content": CLEAN})["max_similarity"] >= 0.85
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps({"title": "盤後", "content": CLEAN})))
    out = io.StringIO()
    call_command("check_draft", "--no-recent-posts", stdout=out)
    assert json.loads(out.getvalue())["max_similarity"] == 0.0


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ("", "No input"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ({"content": "內容"}, '"title"'),
        ({"title": "標題"}, '"content"'),
        ({"title": 1, "content": "內容"}, '"title" must be a string'),
        ({"title": "標題", "content": ["內容"]}, '"content" must be a string'),
        ({"title": "標題", "content": "  "}, "empty"),
        ({"title": "標題", "content": "內容", "stock_code": "0000x"}, "Unknown stock_code"),
        ({"title": "標題", "content": "內容", "stock_code": 2330}, "stock_code"),
        ({"title": "標題", "content": "內容", "snapshot": "104"}, '"snapshot" must be an object'),
        ({"title": "標題", "content": "內容", "snapshot": {"close": "abc"}}, 'snapshot "close"'),
        ({"title": "標題", "content": "內容", "snapshot": {"volume": True}}, 'snapshot "volume"'),
        ({"title": "標題", "content": "內容", "compare_with": "文字"}, "compare_with"),
        ({"title": "標題", "content": "內容", "compare_with": [1]}, "compare_with"),
    ],
)
def test_bad_input_exits_2_with_a_sentence_naming_the_problem(
    monkeypatch: pytest.MonkeyPatch, payload: Any, words: str
) -> None:
    assert words in _refused(monkeypatch, payload)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_real_command_prints_one_json_object() -> None:
    env = child_env(DATABASE_URL=database_url_for_subprocess())
    payload = json.dumps({"title": "盤後", "content": CLEAN, "snapshot": SNAPSHOT})
    result = subprocess.run(
        [PYTHON, "manage.py", "check_draft"],
        input=payload,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["risk_level"] == "low"


def test_the_real_command_exits_2_with_one_sentence_on_stderr(tmp_path: Path) -> None:
    # Bad input is refused before the database is touched, so an empty SQLite file will do.
    env = child_env(DATABASE_URL=f"sqlite:///{tmp_path / 'unused.sqlite3'}", KOL_VAR_DIR=str(tmp_path))
    result = subprocess.run(
        [PYTHON, "manage.py", "check_draft"],
        input="not json",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "not valid JSON" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
