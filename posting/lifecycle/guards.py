"""What must hold before a post's text may be approved, scheduled or sent: the checks ran on this version
and none of their findings blocks.

A save commits the new text first and runs the checks after it, so between the two the stored findings
belong to the previous version. Every step that lets text go out (approve, schedule, the send's claim)
asks ``checks_refusal`` under the post's row lock; the review page asks it too, so the button and the
service give the same reason.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from posting.models import Post


def checks_refusal(post: Post) -> tuple[str, str] | None:
    """(code, message) when the post's findings do not clear its current text; None when they do."""
    if not post.checks_current:
        if post.checked_version is None:
            return "checks_not_run", _("The checks have not run on this post yet; save the text to run them.")
        return "checks_stale", _(
            "The checks ran on v%(checked)s but the text is now v%(version)s; wait for them to finish and reload."
        ) % {"checked": post.checked_version, "version": post.version}
    if post.has_blocking_finding:
        return "blocking_findings", _("The post has a blocking finding; edit the text until the checks pass.")
    return None
