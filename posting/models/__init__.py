"""The posting app's models, one module per concern; import them from here (``posting.models``).

``posts``: a post, its status, approvals, audit trail and revisions. ``batches``: generation batches and
their items. ``compliance``: the rules the draft checks apply. ``publishing``: the outbox of
publications, their attempts and the platform-wide rate. ``stance``: the stance ledger.
"""

from posting.models.batches import BatchItem, GenerationBatch
from posting.models.compliance import ComplianceRule
from posting.models.posts import Approval, AuditEvent, Post, PostRevision, PostStatus
from posting.models.publishing import (
    OPEN_PUBLICATION_STATES,
    Backend,
    PlatformHalt,
    PlatformRate,
    Publication,
    PublicationKind,
    PublicationStatus,
    PublishAttempt,
)
from posting.models.stance import Stance, StanceEntry

__all__ = [
    "OPEN_PUBLICATION_STATES",
    "Approval",
    "AuditEvent",
    "Backend",
    "BatchItem",
    "ComplianceRule",
    "GenerationBatch",
    "PlatformHalt",
    "PlatformRate",
    "Post",
    "PostRevision",
    "PostStatus",
    "Publication",
    "PublicationKind",
    "PublicationStatus",
    "PublishAttempt",
    "Stance",
    "StanceEntry",
]
