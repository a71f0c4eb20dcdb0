"""The analytics API's input (filters) and output (what each analysis returns)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers

from analytics.analysis.scope import MAX_DAYS, Scope
from kols.models import KOL, Persona


class ScopeSerializer(serializers.Serializer[Any]):
    """Query parameters shared by every analysis; the default period is ANALYTICS_PERIOD_DAYS to today."""

    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)
    kol = serializers.IntegerField(required=False, min_value=1)
    persona = serializers.ChoiceField(choices=Persona.choices, required=False)
    include_demo = serializers.BooleanField(required=False, default=False)
    include_dry_run = serializers.BooleanField(required=False, default=False)
    include_late = serializers.BooleanField(required=False, default=False)

    def validate_kol(self, value: int) -> int:
        if not KOL.objects.filter(pk=value).exists():
            raise serializers.ValidationError(_("No KOL with id %(id)s.") % {"id": value})
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        default = Scope.default()
        end: dt.date = attrs.get("end") or default.end
        start: dt.date = attrs.get("start") or end - (default.end - default.start)
        if start > end:
            raise serializers.ValidationError({"start": [_("The start must not be after the end.")]})
        if (end - start).days >= MAX_DAYS:
            raise serializers.ValidationError(
                {"start": [_("A period is at most %(days)s days.") % {"days": MAX_DAYS}]}
            )
        attrs["scope"] = Scope(
            start=start,
            end=end,
            kol_id=attrs.get("kol"),
            persona=attrs.get("persona", ""),
            include_demo=attrs["include_demo"],
            include_dry_run=attrs["include_dry_run"],
            include_late=attrs["include_late"],
        )
        return attrs


class ScopeOutSerializer(serializers.Serializer[Any]):
    start = serializers.DateField()
    end = serializers.DateField()
    kol_id = serializers.IntegerField(allow_null=True)
    persona = serializers.CharField()
    include_demo = serializers.BooleanField()
    include_dry_run = serializers.BooleanField()
    include_late = serializers.BooleanField()


class _Result(serializers.Serializer[Any]):
    scope = ScopeOutSerializer()
    computed_at = serializers.DateTimeField(
        allow_null=True, help_text="When the daily job stored it; null = now."
    )
    stored = serializers.BooleanField()


def _interval() -> serializers.ListField:
    return serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2, allow_null=True)


class FeatureValueSerializer(serializers.Serializer[Any]):
    feature = serializers.CharField()
    feature_label = serializers.CharField()
    value = serializers.JSONField(help_text="The feature's value: text, a number or true/false.")
    value_label = serializers.CharField()
    posts = serializers.IntegerField()
    top = serializers.IntegerField()
    rest = serializers.IntegerField()
    share_top = serializers.FloatField()
    share_top_interval = _interval()
    share_rest = serializers.FloatField()
    share_rest_interval = _interval()
    lift = serializers.FloatField(allow_null=True)
    lift_interval = _interval()
    adjusted_interval = _interval()
    significant = serializers.BooleanField()
    enough_data = serializers.BooleanField()


class SuggestionSerializer(serializers.Serializer[Any]):
    text = serializers.CharField()
    feature = serializers.CharField()
    value = serializers.JSONField()
    lift = serializers.FloatField()


class TopFeaturesSerializer(_Result):
    posts = serializers.IntegerField()
    top_count = serializers.IntegerField()
    threshold = serializers.FloatField(allow_null=True)
    min_posts = serializers.IntegerField()
    alpha = serializers.FloatField()
    tests = serializers.IntegerField()
    values = FeatureValueSerializer(many=True)
    suggestions = SuggestionSerializer(many=True)


class CellSerializer(serializers.Serializer[Any]):
    weekday = serializers.IntegerField()
    hour = serializers.IntegerField()
    posts = serializers.IntegerField()
    mean = serializers.FloatField(allow_null=True)
    shrunk = serializers.FloatField()


class BestTimesSerializer(_Result):
    overall_mean = serializers.FloatField()
    posts = serializers.IntegerField()
    cells = CellSerializer(many=True)
    best = CellSerializer(many=True)


class LeaderEntrySerializer(serializers.Serializer[Any]):
    key = serializers.JSONField()
    name = serializers.CharField()
    posts = serializers.IntegerField()
    median = serializers.FloatField(allow_null=True)
    mean = serializers.FloatField(allow_null=True)
    approval_rate = serializers.FloatField(allow_null=True)
    decided = serializers.IntegerField()


class WeekSerializer(serializers.Serializer[Any]):
    week = serializers.DateField()
    key = serializers.JSONField()
    name = serializers.CharField()
    posts = serializers.IntegerField()
    mean = serializers.FloatField(allow_null=True)


class LeaderboardSerializer(_Result):
    by = serializers.CharField()
    entries = LeaderEntrySerializer(many=True)
    weeks = WeekSerializer(many=True)


class ApprovalTimeSerializer(serializers.Serializer[Any]):
    approved = serializers.IntegerField()
    mean_hours = serializers.FloatField(allow_null=True)
    median_hours = serializers.FloatField(allow_null=True)


class ReasonSerializer(serializers.Serializer[Any]):
    action = serializers.CharField()
    reason = serializers.CharField()
    count = serializers.IntegerField()


class EditGroupSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    posts = serializers.IntegerField()
    mean_edit_distance = serializers.FloatField(allow_null=True)
    share_unedited = serializers.FloatField()


class EditsBySerializer(serializers.Serializer[Any]):
    persona = EditGroupSerializer(many=True)
    prompt_version = EditGroupSerializer(many=True)
    llm_model = EditGroupSerializer(many=True)


class ThroughputSerializer(serializers.Serializer[Any]):
    reviewer = serializers.CharField()
    approvals = serializers.IntegerField()
    per_day = serializers.FloatField()


class EditorEffortSerializer(_Result):
    time_to_approval = ApprovalTimeSerializer()
    reasons = ReasonSerializer(many=True)
    edits_by = EditsBySerializer()
    generated_posts = serializers.IntegerField()
    share_unedited = serializers.FloatField(allow_null=True)
    throughput = ThroughputSerializer(many=True)


class ComparisonSerializer(serializers.Serializer[Any]):
    guided_posts = serializers.IntegerField()
    control_posts = serializers.IntegerField()
    guided_mean = serializers.FloatField(allow_null=True)
    control_mean = serializers.FloatField(allow_null=True)
    lift = serializers.FloatField(allow_null=True)
    interval = _interval()
    enough_data = serializers.BooleanField()
    helps = serializers.BooleanField()
    hurts = serializers.BooleanField()


class KOLComparisonSerializer(ComparisonSerializer):
    kol_id = serializers.IntegerField()
    name = serializers.CharField()


class LearningLiftSerializer(_Result):
    min_posts = serializers.IntegerField()
    alpha = serializers.FloatField()
    overall = ComparisonSerializer()
    kols = KOLComparisonSerializer(many=True)
