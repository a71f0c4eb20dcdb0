"""Generation batches over the API: start, poll, cancel, and follow as server-sent events.

``POST /api/batches/`` takes either ``kol_ids`` and ``stock_codes`` (every KOL writes about every stock)
or explicit ``items``; ``GET /api/batches/{id}/`` polls; ``POST /api/batches/{id}/cancel/`` cancels;
``GET /api/batches/{id}/events`` streams progress (an async view: serve the app under ASGI).
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponseBase, JsonResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from knox.auth import TokenAuthentication
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.errors import error_body
from kols.models import KOL, PostType
from market.models import Stock
from posting.generation.batches import batch_cancel, batch_progress, batch_start
from posting.generation.events import batch_events
from posting.generation.prompts import PostLength
from posting.models import BatchItem, GenerationBatch
from posting.tags import TagError, bare_stock_code

START = ["posting.add_generationbatch"]
VIEW = "posting.view_generationbatch"

# --- Input ------------------------------------------------------------------------------------------


class BatchItemInputSerializer(serializers.Serializer[Any]):
    kol_id = serializers.IntegerField(min_value=1)
    stock_code = serializers.CharField(max_length=12, required=False, allow_blank=True, default="")
    topic = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    trigger_type = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    trigger_key = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    trigger_reasons = serializers.ListField(
        child=serializers.CharField(max_length=300), required=False, default=list, max_length=20
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs["stock_code"] and not attrs["topic"]:
            raise serializers.ValidationError({"stock_code": [_("Give a stock code or a topic.")]})
        return attrs


class BatchCreateSerializer(serializers.Serializer[Any]):
    kol_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, allow_empty=False, max_length=200
    )
    stock_codes = serializers.ListField(
        child=serializers.CharField(max_length=12), required=False, allow_empty=False, max_length=200
    )
    items = BatchItemInputSerializer(many=True, required=False, allow_empty=False)
    post_type = serializers.ChoiceField(choices=PostType.choices)
    length = serializers.ChoiceField(choices=PostLength.choices, default=PostLength.MEDIUM)
    writer = serializers.ChoiceField(
        choices=GenerationBatch.Writer.choices,
        required=False,
        help_text=gettext_lazy("Default: the LLM when one is configured, else the template writer."),
    )
    trigger_type = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    trigger_key = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    trigger_reasons = serializers.ListField(
        child=serializers.CharField(max_length=300), required=False, default=list, max_length=20
    )

    def validate_kol_ids(self, value: list[int]) -> list[int]:
        ids = list(dict.fromkeys(value))
        active = dict(KOL.objects.filter(pk__in=ids).values_list("pk", "status"))
        missing = [str(pk) for pk in ids if pk not in active]
        if missing:
            raise serializers.ValidationError(_("No KOL with id %(ids)s.") % {"ids": ", ".join(missing)})
        paused = [str(pk) for pk in ids if active[pk] != KOL.Status.ACTIVE]
        if paused:
            raise serializers.ValidationError(_("KOL %(ids)s is paused.") % {"ids": ", ".join(paused)})
        return ids

    def validate_stock_codes(self, value: list[str]) -> list[str]:
        try:
            codes = list(dict.fromkeys(bare_stock_code(code) for code in value))
        except TagError as error:
            raise serializers.ValidationError(error.message) from error
        known = set(Stock.objects.filter(code__in=codes).values_list("code", flat=True))
        unknown = [code for code in codes if code not in known]
        if unknown:
            raise serializers.ValidationError(
                _("Unknown stock code %(codes)s: load the stock list first.") % {"codes": ", ".join(unknown)}
            )
        return codes

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        pairs = "kol_ids" in attrs or "stock_codes" in attrs
        if pairs and "items" in attrs:
            raise serializers.ValidationError(
                {"items": [_("Give either items, or kol_ids with stock_codes.")]}
            )
        if not pairs and "items" not in attrs:
            raise serializers.ValidationError({"kol_ids": [_("Choose at least one KOL and one stock.")]})
        for name in ("kol_ids", "stock_codes"):
            if pairs and name not in attrs:
                raise serializers.ValidationError({name: [_("This field is required.")]})
        count = len(attrs["items"]) if "items" in attrs else len(attrs["kol_ids"]) * len(attrs["stock_codes"])
        if count > settings.GENERATION_MAX_BATCH_ITEMS:
            field = "items" if "items" in attrs else "stock_codes"
            message = _("A batch may ask for at most %(max)d drafts; this one asks for %(count)d.") % {
                "max": settings.GENERATION_MAX_BATCH_ITEMS,
                "count": count,
            }
            raise serializers.ValidationError({field: [message]})
        return attrs

    def batch_items(self) -> list[dict[str, Any]]:
        data = self.validated_data
        if "items" in data:
            return [dict(item) for item in data["items"]]
        trigger = {key: data[key] for key in ("trigger_type", "trigger_key", "trigger_reasons")}
        return [
            {"kol_id": kol_id, "stock_code": code, **trigger}
            for kol_id in data["kol_ids"]
            for code in data["stock_codes"]
        ]


# --- Output -----------------------------------------------------------------------------------------


class BatchItemSerializer(serializers.ModelSerializer[BatchItem]):
    kol_nickname = serializers.CharField(source="kol.nickname", read_only=True)
    stock_code = serializers.CharField(source="stock.code", read_only=True, default=None)
    post_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = BatchItem
        fields = [
            "id", "position", "kol", "kol_nickname", "stock_code", "topic", "trigger_type", "trigger_reasons",
            "status", "attempts", "next_attempt_at", "post_id", "error", "error_code", "started_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields


class BatchSerializer(serializers.ModelSerializer[GenerationBatch]):
    requested_by = serializers.CharField(source="requested_by.get_username", read_only=True, default=None)
    progress = serializers.SerializerMethodField()
    events_url = serializers.SerializerMethodField()

    class Meta:
        model = GenerationBatch
        fields = [
            "id", "source", "source_ref", "requested_by", "post_type", "writer", "status", "requested_count",
            "succeeded_count", "failed_count", "cancelled_count", "progress", "error_summary", "created_at",
            "started_at", "finished_at", "events_url",
        ]  # fmt: skip
        read_only_fields = fields

    def get_progress(self, batch: GenerationBatch) -> dict[str, int]:
        return batch_progress(batch)

    def get_events_url(self, batch: GenerationBatch) -> str:
        return f"/api/batches/{batch.pk}/events"


class BatchDetailSerializer(BatchSerializer):
    items = BatchItemSerializer(many=True, read_only=True)

    class Meta(BatchSerializer.Meta):
        fields = [*BatchSerializer.Meta.fields, "items"]
        read_only_fields = fields


# --- Views ------------------------------------------------------------------------------------------


class BatchViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet[GenerationBatch]):
    """Generation batches: start one, poll it, cancel it. Generation never approves or publishes."""

    queryset = GenerationBatch.objects.select_related("requested_by").order_by("-created_at", "-id")
    serializer_class = BatchSerializer
    filterset_fields = ["status", "source"]
    action_permissions = {"create": START, "cancel": START}

    def get_queryset(self) -> Any:
        queryset = super().get_queryset()
        if self.action == "retrieve":
            items = BatchItem.objects.select_related("kol", "stock").order_by("position")
            queryset = queryset.prefetch_related(Prefetch("items", queryset=items))
        return queryset

    def get_serializer_class(self) -> Any:
        return BatchDetailSerializer if self.action == "retrieve" else BatchSerializer

    @extend_schema(request=BatchCreateSerializer, responses={201: BatchSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = BatchCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        batch = batch_start(
            source=GenerationBatch.Source.API,
            requested_by=request.user,
            items=data.batch_items(),
            post_type=data.validated_data["post_type"],
            length=data.validated_data["length"],
            writer=data.validated_data.get("writer", ""),
        )
        body = BatchSerializer(batch, context=self.get_serializer_context()).data
        return Response(
            body, status=status.HTTP_201_CREATED, headers={"Location": f"/api/batches/{batch.pk}/"}
        )

    @extend_schema(request=None, responses=BatchSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        batch = batch_cancel(batch=self.get_object(), by=request.user)
        return Response(BatchSerializer(batch, context=self.get_serializer_context()).data)


async def _api_user(request: HttpRequest) -> Any:
    """The token's user (``Authorization: Token <key>``) or the session's, like every other endpoint."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, key = header.partition(" ")
    if scheme.lower() == "token" and key.strip():
        # The same check as every other endpoint: knox compares the token's digest, expiry and user.
        try:
            user, _token = await sync_to_async(TokenAuthentication().authenticate_credentials)(
                key.strip().encode()
            )
        except exceptions.AuthenticationFailed:
            return AnonymousUser()
        return user
    return await request.auser()


@csrf_exempt  # reads only; a POST answers 405 in the error body, not Django's CSRF page
async def batch_events_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    """GET /api/batches/{id}/events: text/event-stream until ``batch_end`` or the client leaves."""
    if request.method not in ("GET", "HEAD"):
        return JsonResponse(
            error_body("method_not_allowed", _("Use GET.")), status=405, headers={"Allow": "GET"}
        )
    user = await _api_user(request)
    if not user.is_authenticated:
        body = error_body(
            "not_authenticated", _("Authentication credentials were not provided or are invalid.")
        )
        return JsonResponse(body, status=401, headers={"WWW-Authenticate": "Token"})
    if not await user.ahas_perm(VIEW):
        return JsonResponse(error_body("permission_denied", _("Permission denied.")), status=403)
    if not await GenerationBatch.objects.filter(pk=pk).aexists():
        return JsonResponse(error_body("not_found", _("No batch %(id)s.") % {"id": pk}), status=404)
    response = StreamingHttpResponse(
        batch_events(batch_id=pk), content_type="text/event-stream; charset=utf-8"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx would otherwise hold the events back
    return response
