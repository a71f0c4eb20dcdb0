"""The interactions API: a post's time series and one snapshot, a batch, stats, refresh now, pushes."""

from __future__ import annotations

import json
from typing import Any

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.api.serializers import (
    BatchResultSerializer,
    BatchSerializer,
    PushSerializer,
    SnapshotInputSerializer,
    SnapshotSerializer,
    StatsQuerySerializer,
    StatsRowSerializer,
)
from analytics.clients.webhook import push_signature_valid
from analytics.inputs import InvalidInput, snapshots_import
from analytics.models import InteractionSnapshot
from analytics.selectors import interaction_stats, post_timeline
from analytics.services import snapshot_push, snapshot_refresh
from config.api.errors import error_body
from config.api.permissions import ModelPermissions
from posting.models import Post
from posting.publishing.clients.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER

Source = InteractionSnapshot.Source


class _SnapshotView(APIView):
    # Reads need analytics.view_interactionsnapshot, writes analytics.add_interactionsnapshot.
    permission_classes = [ModelPermissions]
    queryset = InteractionSnapshot.objects.all()


class PostInteractionsView(_SnapshotView):
    @extend_schema(responses=SnapshotSerializer(many=True), summary="A post's snapshots, oldest first")
    def get(self, request: Request, post_id: str) -> Response:
        post = get_object_or_404(Post, pk=post_id)
        return Response(SnapshotSerializer(post_timeline(post_id=post.pk), many=True).data)

    @extend_schema(
        request=SnapshotInputSerializer, responses={201: SnapshotSerializer}, summary="Add one snapshot"
    )
    def post(self, request: Request, post_id: str) -> Response:
        post = get_object_or_404(Post, pk=post_id)
        data = request.data if isinstance(request.data, dict) else {}
        row = {**data, "post": str(post.pk)}
        try:
            snapshot = snapshots_import(rows=[row], source=Source.MANUAL, by=request.user)[0]
        except InvalidInput as invalid:
            fields = {
                key.split(".", 1)[1] if "." in key else "non_field_errors": v
                for key, v in invalid.fields.items()
            }
            return Response(
                error_body("invalid", _("Invalid snapshot."), fields), status=status.HTTP_400_BAD_REQUEST
            )
        return Response(SnapshotSerializer(snapshot).data, status=status.HTTP_201_CREATED)


class PostInteractionsRefreshView(_SnapshotView):
    @extend_schema(
        request=None, responses={201: SnapshotSerializer}, summary="Read the counts now (ad-hoc snapshot)"
    )
    def post(self, request: Request, post_id: str) -> Response:
        post = get_object_or_404(Post, pk=post_id)
        snapshot = snapshot_refresh(post=post, by=request.user)
        return Response(SnapshotSerializer(snapshot).data, status=status.HTTP_201_CREATED)


class InteractionBatchView(_SnapshotView):
    @extend_schema(
        request=BatchSerializer, responses={201: BatchResultSerializer}, summary="Add many snapshots"
    )
    def post(self, request: Request) -> Response:
        rows = request.data.get("snapshots") if isinstance(request.data, dict) else None
        if not isinstance(rows, list) or not rows:
            raise InvalidInput(
                _('Send {"snapshots": [...]} with at least one row.'), fields={"snapshots": [_("Required.")]}
            )
        snapshots = snapshots_import(rows=rows, source=Source.MANUAL, by=request.user)
        body = {"created": len(snapshots), "snapshots": SnapshotSerializer(snapshots, many=True).data}
        return Response(body, status=status.HTTP_201_CREATED)


class InteractionStatsView(_SnapshotView):
    @extend_schema(
        parameters=[StatsQuerySerializer],
        responses=StatsRowSerializer(many=True),
        summary="Totals and 24 h scores by KOL, persona or day",
    )
    def get(self, request: Request) -> Response:
        query = StatsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = interaction_stats(**query.validated_data)
        return Response(StatsRowSerializer(rows, many=True).data)


class InteractionPushView(APIView):
    """Signed pushes from the webhook platform: the same HMAC as our publishing webhook."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=PushSerializer,
        responses={201: SnapshotSerializer},
        parameters=[
            OpenApiParameter(SIGNATURE_HEADER, str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter(TIMESTAMP_HEADER, str, OpenApiParameter.HEADER, required=True),
        ],
        summary="Push a snapshot (webhook platform)",
    )
    def post(self, request: Request) -> Response:
        body = request.body
        timestamp = request.headers.get(TIMESTAMP_HEADER, "")
        if not push_signature_valid(
            timestamp=timestamp, body=body, given=request.headers.get(SIGNATURE_HEADER, "")
        ):
            return Response(
                error_body(
                    "bad_signature", _("The signature or its timestamp is missing, wrong or too old.")
                ),
                status=status.HTTP_401_UNAUTHORIZED,
            )
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return Response(
                error_body("invalid", _("The body is not a JSON object.")), status=status.HTTP_400_BAD_REQUEST
            )
        PushSerializer(data=data).is_valid(raise_exception=True)
        snapshot = snapshot_push(data=data)
        return Response(SnapshotSerializer(snapshot).data, status=status.HTTP_201_CREATED)
