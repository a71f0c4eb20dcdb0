from __future__ import annotations

from typing import Any

from rest_framework import serializers

from kols.models import KOL, PlatformAccount, Playbook


class PlatformAccountSerializer(serializers.ModelSerializer[PlatformAccount]):
    """What the API may say about an account: never the login, password or token."""

    has_credentials = serializers.BooleanField(read_only=True)

    class Meta:
        model = PlatformAccount
        fields = [
            "id",
            "platform",
            "status",
            "paused_reason",
            "has_credentials",
            "token_expires_at",
            "last_login_at",
        ]
        read_only_fields = fields


class KOLSerializer(serializers.ModelSerializer[KOL]):
    accounts = PlatformAccountSerializer(many=True, read_only=True)

    class Meta:
        model = KOL
        fields = [
            "id",
            "serial",
            "nickname",
            "persona",
            "content_style",
            "target_audience",
            "expertise_industries",
            "expertise_keywords",
            "backstory",
            "style_rules",
            "guardrails",
            "signature",
            "common_phrases",
            "emoji_use",
            "tone_formal",
            "tone_emotion",
            "tone_confidence",
            "tone_urgency",
            "tone_interaction",
            "llm_model",
            "llm_temperature",
            "llm_max_tokens",
            "status",
            "dry_run",
            "max_posts_per_hour",
            "max_posts_per_day",
            "is_demo",
            "accounts",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class PlaybookSerializer(serializers.ModelSerializer[Playbook]):
    class Meta:
        model = Playbook
        fields = ["id", "version", "status", "lines", "best_hours", "created_at", "activated_at"]
        read_only_fields = fields


class KOLPlaybooksSerializer(serializers.Serializer[Any]):
    active = PlaybookSerializer(allow_null=True)
    versions = PlaybookSerializer(many=True)


class PlaybookActivateSerializer(serializers.Serializer[Any]):
    version = serializers.IntegerField(min_value=1)
