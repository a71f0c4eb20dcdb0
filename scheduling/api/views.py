from __future__ import annotations

from typing import Any, cast

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from scheduling import services
from scheduling.api.serializers import (
    DailyStatsQuerySerializer,
    ScheduleRunSerializer,
    ScheduleSerializer,
    TriggerPreviewSerializer,
)
from scheduling.dispatch import schedule_run_now
from scheduling.models import Schedule, ScheduleRun
from scheduling.selectors import daily_stats, schedule_preview, schedules_with_today
from scheduling.trigger_types import CONFIG_SCHEMAS, TriggerType
from scheduling.triggers import trigger_evaluate

CHANGE = ["scheduling.change_schedule"]
VIEW = ["scheduling.view_schedule"]


class ScheduleViewSet(viewsets.ModelViewSet[Schedule]):
    """Schedules: CRUD (saving computes the next run), run now, preview, pause, resume, today's numbers."""

    serializer_class = ScheduleSerializer
    filterset_fields = ["status", "trigger_type", "days_rule", "auto_approve"]
    ordering_fields = ["name", "next_run_at", "last_run_at", "created_at"]
    action_permissions = {
        "run": CHANGE,
        "pause": CHANGE,
        "resume": CHANGE,
        "preview": VIEW,
        "daily_stats": VIEW,
        "runs": ["scheduling.view_schedulerun"],
    }

    def get_queryset(self) -> Any:
        queryset = Schedule.objects.prefetch_related("kol_pool").order_by("name", "pk")
        return schedules_with_today(queryset)

    def _answer(self, schedule: Schedule, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=schedule.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    def _save(self, serializer: serializers.BaseSerializer[Schedule], instance: Schedule) -> Schedule:
        data = dict(serializer.validated_data)
        pool = data.pop("kol_pool", None)
        for name, value in data.items():
            setattr(instance, name, value)
        return services.schedule_save(schedule=instance, pool=pool)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._answer(self._save(serializer, Schedule()), status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=kwargs.pop("partial", False))
        serializer.is_valid(raise_exception=True)
        return self._answer(self._save(serializer, instance))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.schedule_delete(schedule=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={201: ScheduleRunSerializer})
    @action(detail=True, methods=["post"])
    def run(self, request: Request, pk: str | None = None) -> Response:
        run = schedule_run_now(schedule=self.get_object(), by=request.user)
        run = ScheduleRun.objects.select_related("batch").get(pk=run.pk)
        return Response(ScheduleRunSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ScheduleSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str | None = None) -> Response:
        schedule = self.get_object()
        services.schedule_pause(schedule=schedule)
        return self._answer(schedule)

    @extend_schema(request=None, responses=ScheduleSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        schedule = self.get_object()
        services.schedule_resume(schedule=schedule)
        return self._answer(schedule)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def preview(self, request: Request, pk: str | None = None) -> Response:
        return Response(schedule_preview(schedule=self.get_object()))

    @extend_schema(responses=ScheduleRunSerializer(many=True))
    @action(detail=True, methods=["get"])
    def runs(self, request: Request, pk: str | None = None) -> Response:
        runs = (
            ScheduleRun.objects.filter(schedule=self.get_object())
            .select_related("batch")
            .order_by("-slot_at", "-id")
        )
        # The viewset's paginator, typed for schedules, pages any queryset.
        page = cast(list[ScheduleRun], self.paginate_queryset(cast(Any, runs)))
        return self.get_paginated_response(ScheduleRunSerializer(page, many=True).data)

    @extend_schema(parameters=[DailyStatsQuerySerializer], responses=OpenApiTypes.OBJECT)
    @action(detail=False, methods=["get"], url_path="daily-stats")
    def daily_stats(self, request: Request) -> Response:
        query = DailyStatsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(daily_stats(day=query.validated_data.get("date")))


TRIGGER_TYPE_SCHEMA = inline_serializer(
    name="TriggerType",
    fields={
        "type": serializers.CharField(),
        "label": serializers.CharField(),
        "config_schema": serializers.DictField(help_text="The JSON Schema of this trigger type's config."),
    },
    many=True,
)


class TriggerViewSet(viewsets.ViewSet):
    """Trigger types with the JSON Schema of their config, and a preview that writes nothing."""

    action_permissions = {"list": VIEW, "preview": VIEW}
    # GET the list, POST a preview; anything else (OPTIONS included) is 405 in the error body.
    http_method_names = ["get", "head", "post"]

    @extend_schema(responses=TRIGGER_TYPE_SCHEMA)
    def list(self, request: Request) -> Response:
        return Response(
            [
                {"type": value, "label": str(label), "config_schema": CONFIG_SCHEMAS[value]}
                for value, label in TriggerType.choices
            ]
        )

    @extend_schema(request=TriggerPreviewSerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=False, methods=["post"])
    def preview(self, request: Request) -> Response:
        serializer = TriggerPreviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = trigger_evaluate(
            trigger_type=data["trigger_type"], config=data["config"], as_of=data["as_of"]
        )
        return Response(result.as_dict())
