"""CMoney community topics in the API: the trending list a post without a stock can join."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from posting.api.serializers import ErrorSerializer, TopicSerializer, TrendingQuerySerializer
from posting.publishing.topics import topics_trending


class TopicViewSet(viewsets.ViewSet):
    """CMoney's trending community topics."""

    action_permissions = {"trending": ["posting.change_post"]}

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "kol", int, required=True, description="The KOL whose CMoney account reads the topics."
            )
        ],
        responses={
            200: TopicSerializer(many=True),
            400: OpenApiResponse(ErrorSerializer, description="kol missing or unknown (error.fields.kol)."),
            403: OpenApiResponse(ErrorSerializer, description="Needs posting.change_post."),
            409: OpenApiResponse(
                ErrorSerializer,
                description="no_cmoney_account: the KOL has no CMoney account with a login and password.",
            ),
            502: OpenApiResponse(
                ErrorSerializer, description="topics_unavailable: CMoney did not answer; nothing is made up."
            ),
        },
    )
    @action(detail=False, methods=["get"])
    def trending(self, request: Request) -> Response:
        """The trending topics (CMoney ``GET /api/Topic/Trending``), read live with the KOL's account."""
        query = TrendingQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        topics = topics_trending(kol=query.validated_data["kol"])
        return Response(TopicSerializer(topics, many=True).data)
