"""The outbox over the API: GET /api/publications/?status=..., read only.

Publishing and unpublishing are actions on the post (POST /api/posts/{id}/publish and /unpublish).
"""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers, viewsets

from config.api.filters import IsoDateTimeFromToRangeFilter
from posting.models import Backend, Publication, PublicationStatus, PublishAttempt


class PublishAttemptSerializer(serializers.ModelSerializer[PublishAttempt]):
    class Meta:
        model = PublishAttempt
        fields = ["kind", "outcome", "dry_run", "started_at", "duration_ms", "http_status", "error"]
        read_only_fields = fields


class PublicationSerializer(serializers.ModelSerializer[Publication]):
    post_title = serializers.CharField(source="post.title", read_only=True)
    kol_nickname = serializers.CharField(source="post.kol.nickname", read_only=True)
    dry_run = serializers.BooleanField(source="is_dry_run", read_only=True)
    attempts = PublishAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Publication
        fields = [
            "id", "post", "post_title", "kol_nickname", "account", "backend", "dry_run", "dry_run_reason", "status",
            "post_version", "due_at", "next_attempt_at", "attempt_count", "claimed_at", "finished_at",
            "platform_post_id", "platform_post_url", "request_payload", "last_http_status", "last_error", "note",
            "deleted_at", "created_at", "updated_at", "attempts",
        ]  # fmt: skip
        read_only_fields = fields


class PublicationFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=PublicationStatus.choices)
    backend = django_filters.ChoiceFilter(choices=Backend.choices)
    post = django_filters.UUIDFilter(field_name="post_id")
    account = django_filters.NumberFilter(field_name="account_id")
    kol = django_filters.NumberFilter(field_name="post__kol_id", label=_("KOL id"))
    due = IsoDateTimeFromToRangeFilter(
        field_name="due_at", label=_("Due (due_after / due_before, ISO 8601 with a time zone)")
    )

    class Meta:
        model = Publication
        fields = ["status", "backend", "post", "account", "kol", "due"]


class PublicationViewSet(viewsets.ReadOnlyModelViewSet[Publication]):
    """Publications (the outbox) with every attempt. Needs posting.view_publication."""

    queryset = (
        Publication.objects.select_related("post__kol", "account")
        .prefetch_related("attempts")
        .order_by("-created_at", "-id")
    )
    serializer_class = PublicationSerializer
    filterset_class = PublicationFilter
    ordering_fields = ["created_at", "due_at", "claimed_at", "finished_at"]
