"""Fixtures shared by the posting tests (defined next to the helpers they use)."""

from tests.posting.checks_support import default_rules  # noqa: F401
from tests.posting.publishing_support import platform, platform_configured  # noqa: F401
