from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from analytics.inputs import CountsSerializer, SnapshotRowSerializer
from analytics.models import InteractionSnapshot
from analytics.selectors import GROUPS
from kols.models import Persona


class SnapshotSerializer(serializers.ModelSerializer[InteractionSnapshot]):
    class Meta:
        model = InteractionSnapshot
        fields = [
            "id", "post", "captured_at", "slot", "age_seconds", "late", "source", "likes", "comments", "shares",
            "saves", "tips", "views", "reactions", "score", "score_formula_version",
        ]  # fmt: skip
        read_only_fields = fields


class SnapshotInputSerializer(SnapshotRowSerializer):
    """One snapshot for the post in the URL (``post`` is taken from the URL)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.pop("post")


class BatchSerializer(serializers.Serializer[Any]):
    snapshots = SnapshotRowSerializer(
        many=True, help_text=_("Validated as a whole: one bad row stores nothing.")
    )


class BatchResultSerializer(serializers.Serializer[Any]):
    created = serializers.IntegerField()
    snapshots = SnapshotSerializer(many=True)


class StatsQuerySerializer(serializers.Serializer[Any]):
    group_by = serializers.ChoiceField(choices=list(GROUPS), default="day")
    kol = serializers.IntegerField(required=False, min_value=1, help_text=_("Only this KOL's posts."))
    persona = serializers.ChoiceField(choices=Persona.choices, required=False)
    since = serializers.DateField(required=False, help_text=_("First publishing day (Asia/Taipei)."))
    until = serializers.DateField(required=False, help_text=_("Last publishing day (Asia/Taipei)."))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("since") and attrs.get("until") and attrs["since"] > attrs["until"]:
            raise serializers.ValidationError({"until": [_("This is before since.")]})
        return attrs


class StatsRowSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    name = serializers.CharField()
    posts = serializers.IntegerField()
    likes = serializers.IntegerField(allow_null=True)
    comments = serializers.IntegerField(allow_null=True)
    shares = serializers.IntegerField(allow_null=True)
    saves = serializers.IntegerField(allow_null=True)
    tips = serializers.IntegerField(allow_null=True)
    views = serializers.IntegerField(allow_null=True)
    scored_posts = serializers.IntegerField()
    score_24h_mean = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    late_24h = serializers.IntegerField()


class PushSerializer(CountsSerializer):
    """What the webhook platform pushes (signed like our publishing webhook)."""

    post_id = serializers.UUIDField(required=False)
    platform_post_id = serializers.CharField(required=False)
    captured_at = serializers.DateTimeField(required=False)
