"""Draft checks: one service, ``draft_check``, and the helper that copies its report onto a post.

See service.py for the risk rule, quality.py for the scores, compliance.py, grounding.py, numbers.py and
duplicates.py for the individual checks.
"""

from posting.checks.service import CheckInputError, CheckReport, check_report_apply, draft_check, risk_of
from posting.checks.types import Finding, Part

__all__ = [
    "CheckInputError",
    "CheckReport",
    "Finding",
    "Part",
    "check_report_apply",
    "draft_check",
    "risk_of",
]
