from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from config.api.fields import AwareDateTimeField
from kols.models import KOL
from market.models import Stock
from posting.models import Post


class PostSerializer(serializers.ModelSerializer[Post]):
    kol_nickname = serializers.CharField(source="kol.nickname", read_only=True)
    stock_code = serializers.CharField(source="stock.code", read_only=True, default=None, allow_null=True)
    stock_name = serializers.CharField(source="stock.name", read_only=True, default=None, allow_null=True)
    approved_by = serializers.CharField(
        source="approved_by.get_username", read_only=True, default=None, allow_null=True
    )
    persona_version = serializers.SerializerMethodField(
        help_text=_("The KOL's persona card version the post was written with: {number, card}, or null.")
    )
    dry_run = serializers.BooleanField(
        read_only=True,
        default=False,
        help_text=_(
            "A dry run: recorded as if published, never sent to a platform (or, not sent yet, will be)."
        ),
    )

    class Meta:
        model = Post
        fields = [
            "id", "kol", "kol_nickname", "stock_code", "stock_name", "title", "body", "status", "version",
            "status_note", "reviewer_notes", "approved_by", "approved_at", "approved_version", "scheduled_at",
            "published_at", "platform_post_id", "platform_post_url", "publish_error", "topic_id", "topic_title",
            "trigger_type", "trigger_key", "trigger_reasons", "generator", "llm_model", "prompt_version",
            "prompt_tokens", "completion_tokens", "cost_usd", "latency_ms", "market_snapshot", "commodity_tags",
            "quality_score", "machine_text_score", "risk_level", "check_findings", "check_summary", "checked_at",
            "stale_reason", "batch", "regenerated_from", "is_demo", "dry_run", "created_at", "updated_at",
            "persona_version", "score_24h", "score_24h_late", "score_formula_version",
        ]  # fmt: skip
        read_only_fields = fields

    def get_persona_version(self, post: Post) -> dict[str, Any] | None:
        version = post.persona_version
        return None if version is None else {"number": version.number, "card": version.card}


class PostTextSerializer(serializers.Serializer[Any]):
    """PATCH /api/posts/{id}: new text, and the version it was written against."""

    title = serializers.CharField(max_length=200)
    body = serializers.CharField()
    version = serializers.IntegerField(
        min_value=1,
        help_text=_("The version you edited. A newer version on the server refuses the change (409)."),
    )


class PostWriteSerializer(serializers.Serializer[Any]):
    """POST /api/posts/: a post written by hand for a KOL. It starts as a checked draft; submit it next."""

    kol = serializers.PrimaryKeyRelatedField(queryset=KOL.objects.all())
    stock = serializers.PrimaryKeyRelatedField(
        queryset=Stock.objects.all(), required=False, allow_null=True, default=None
    )
    title = serializers.CharField(max_length=200)
    body = serializers.CharField()


class ApproveSerializer(serializers.Serializer[Any]):
    version = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text=_("The version you reviewed; refused (409) if the text changed since."),
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ReasonSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(help_text=_("Required: why."))


class ScheduleSerializer(serializers.Serializer[Any]):
    at = AwareDateTimeField(
        help_text=_("When to publish, ISO 8601 with a time zone (e.g. 2026-11-24T08:30+08:00).")
    )

    def validate_at(self, value: Any) -> Any:
        if value <= timezone.now():
            raise serializers.ValidationError(_("The publishing time must be in the future."))
        return value


class RegenerateAnswerSerializer(serializers.Serializer[Any]):
    """202 of POST /api/posts/{id}/regenerate/: the batch writing the new draft, and the original as it is now."""

    batch_id = serializers.IntegerField(help_text=_("Poll GET /api/batches/{batch_id}/ for the new draft."))
    batch_url = serializers.CharField()
    events_url = serializers.CharField(help_text=_("Server-sent progress events of the batch."))
    post = PostSerializer(help_text=_("The original post, now rejected (kept, linked from the new draft)."))


# The one error body of the API (config/api/errors.py), for the schema. Built inline: a declared field
# named ``fields`` would shadow ``Serializer.fields``.
ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "error": inline_serializer(
            name="ErrorDetail",
            fields={
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "fields": serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
            },
        )
    },
)


class TopicSerializer(serializers.Serializer[Any]):
    """A CMoney community topic, as ``GET /api/Topic/Trending`` lists it."""

    id = serializers.CharField(help_text=_("The topic's id on CMoney (sent as communityTopic)."))
    title = serializers.CharField()


class TrendingQuerySerializer(serializers.Serializer[Any]):
    kol = serializers.PrimaryKeyRelatedField(
        queryset=KOL.objects.all(), help_text=_("The KOL whose CMoney account reads the topics.")
    )


class TopicAttachSerializer(serializers.Serializer[Any]):
    topic_id = serializers.CharField(
        max_length=100,
        allow_blank=True,
        trim_whitespace=True,
        help_text=_("A trending topic's id; empty removes the post's topic."),
    )
    topic_title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
