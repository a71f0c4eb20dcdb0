"""/api/tokens/: a person's own API tokens. Create (the token is in the 201 answer, once), list (names and
expiry, never the token) and revoke (DELETE)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from kols.models import ApiToken
from kols.tokens import api_token_create, api_token_revoke, api_tokens_of


class ApiTokenSerializer(serializers.ModelSerializer[ApiToken]):
    id = serializers.UUIDField(source="uid", read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "name", "created", "expiry"]
        read_only_fields = fields


class ApiTokenCreateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=100)
    days = serializers.IntegerField(
        min_value=1, required=False, help_text="Days until it expires; default API_TOKEN_TTL_DAYS."
    )


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown this once; store it now.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class ApiTokenViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet[ApiToken]):
    """Your API tokens. Send one as ``Authorization: Token <token>``."""

    serializer_class = ApiTokenSerializer
    permission_classes = [IsAuthenticated]
    lookup_field = "uid"
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        return api_tokens_of(user=self.request.user)

    @extend_schema(request=ApiTokenCreateSerializer, responses={201: ApiTokenCreatedSerializer})
    def create(self, request: Request) -> Response:
        data = ApiTokenCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, key = api_token_create(
            user=request.user,
            name=data.validated_data["name"],
            days=data.validated_data.get("days", settings.API_TOKEN_TTL_DAYS),
        )
        body = dict(ApiTokenSerializer(token).data)
        body["token"] = key
        return Response(body, status=201)

    def perform_destroy(self, instance: ApiToken) -> None:
        api_token_revoke(token=instance, by=self.request.user)
