import json
import sys
from collections.abc import Mapping
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from market.models import Stock
from posting.checks import CheckInputError, Finding, draft_check
from posting.checks.families import FamiliesError, families_evaluate
from posting.checks.grounding import as_number
from posting.checks.stocks import master_stock

SNAPSHOT_FIGURES = ("close", "open", "high", "low", "change", "change_pct", "volume", "turnover")
BAD_INPUT = 2


def _bad(message: str) -> CommandError:
    return CommandError(message, returncode=BAD_INPUT)


def _read(raw: str) -> dict[str, Any]:
    if not raw.strip():
        raise _bad("No input on stdin: expected a JSON object with title and content.")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _bad(
            f"The input is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from exc
    if not isinstance(data, dict):
        raise _bad(f"The input must be a JSON object, not {type(data).__name__}.")
    return data


def _text(data: Mapping[str, Any], key: str) -> str:
    if key not in data:
        raise _bad(f'The input has no "{key}".')
    value = data[key]
    if not isinstance(value, str):
        raise _bad(f'"{key}" must be a string, not {type(value).__name__}.')
    return value


def _stock(data: Mapping[str, Any]) -> Stock | None:
    code = data.get("stock_code")
    if code is None:
        return None
    if not isinstance(code, str) or not code.strip():
        raise _bad(f'"stock_code" must be a non-empty string such as "2330", not {json.dumps(code)}.')
    code = code.strip().upper()
    stock = Stock.objects.filter(code=code).first() or master_stock(code)
    if stock is None:
        raise _bad(f'Unknown stock_code "{code}": it is neither in the stock table nor in the stock master.')
    return stock


def _snapshot(data: Mapping[str, Any]) -> dict[str, Any] | None:
    snapshot = data.get("snapshot")
    if snapshot is None:
        return None
    if not isinstance(snapshot, dict):
        raise _bad(f'"snapshot" must be an object, not {type(snapshot).__name__}.')
    for key in SNAPSHOT_FIGURES:
        value = snapshot.get(key)
        if value is not None and as_number(value) is None:
            raise _bad(f'snapshot "{key}" must be a number, got {json.dumps(value, ensure_ascii=False)}.')
    return snapshot


def _compare_with(data: Mapping[str, Any]) -> list[str]:
    texts = data.get("compare_with")
    if texts is None:
        return []
    if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
        raise _bad('"compare_with" must be a list of strings.')
    return texts


def _post_type(data: Mapping[str, Any]) -> str:
    value = data.get("post_type", "")
    if not isinstance(value, str):
        raise _bad(f'"post_type" must be a string, not {type(value).__name__}.')
    return value


def _run_families(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise _bad(f"Cannot read the families file {path}: {exc.strerror}.") from exc
    except json.JSONDecodeError as exc:
        raise _bad(f"The families file is not valid JSON: {exc.msg} at line {exc.lineno}.") from exc
    try:
        return families_evaluate(data)
    except FamiliesError as exc:
        raise _bad(str(exc)) from exc


def explain(finding: Finding) -> str:
    """One line: severity, rule, «excerpt», message, and the snapshot figure a grounding finding was held against."""
    line = f"{finding.severity:<5} {finding.code}" + (f" ({finding.field})" if finding.field else "")
    if finding.excerpt:
        line += f" «{finding.excerpt}»"
    line += f" — {finding.message}"
    reference = finding.detail.get("reference")
    if isinstance(reference, Mapping) and reference.get("label") is not None:
        line += f" [held against {reference['label']} = {reference['value']:,.4g}]"
    earlier = finding.detail.get("earlier_post_id")
    if earlier:
        line += f" [earlier post {earlier}]"
    return line


class Command(BaseCommand):
    help = (
        "Check one draft read as JSON on stdin: "
        '{"title", "content", "stock_code"?, "snapshot"?: {close, open, high, low, change, change_pct, '
        'volume, turnover}, "compare_with"?: [text, ...], "post_type"?}. Prints one JSON report. '
        'Bad input exits with code 2. The report\'s "classifier" section says whether the LLM classifier ran.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--families",
            metavar="FILE",
            help=(
                "Instead of one draft on stdin, run the test families in FILE (see posting/checks/families.py) "
                "and print one JSON line: recall and false alarms of compliance, grounding and near-duplicates."
            ),
        )
        parser.add_argument(
            "--no-recent-posts",
            action="store_true",
            help="Compare only with compare_with, not with recent drafts and posts in the database.",
        )
        parser.add_argument(
            "--explain",
            action="store_true",
            help=(
                "After the JSON report, one line per finding: severity, rule, the excerpt and, for grounding, "
                "the snapshot figure it was held against."
            ),
        )
        llm = parser.add_mutually_exclusive_group()
        llm.add_argument(
            "--llm",
            dest="llm_classifier",
            action="store_const",
            const=True,
            help="Also run the LLM compliance classifier (default: the COMPLIANCE_LLM_CLASSIFIER setting).",
        )
        llm.add_argument(
            "--no-llm",
            dest="llm_classifier",
            action="store_const",
            const=False,
            help="Do not run the LLM compliance classifier, whatever COMPLIANCE_LLM_CLASSIFIER says.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["families"]:
            self.stdout.write(json.dumps(_run_families(options["families"]), ensure_ascii=False))
            return
        data = _read(sys.stdin.read())
        title, content = _text(data, "title"), _text(data, "content")
        if not content.strip():
            raise _bad('"content" is empty.')
        try:
            report = draft_check(
                title=title,
                body=content,
                snapshot=_snapshot(data),
                stock=_stock(data),
                post_type=_post_type(data),
                compare_with=_compare_with(data),
                include_recent_posts=not options["no_recent_posts"],
                llm_classifier=options["llm_classifier"],
            )
        except CheckInputError as exc:
            raise _bad(exc.message) from exc
        self.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False))
        if options["explain"]:
            for finding in report.findings:
                self.stdout.write(explain(finding))
