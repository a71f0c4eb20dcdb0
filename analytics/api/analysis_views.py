"""GET /api/analytics/<analysis>/: the stored result for the default period, or computed for the filters."""

from __future__ import annotations

from typing import Any, ClassVar

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from analytics.analysis.selectors import analysis_read
from analytics.api.analysis_serializers import (
    BestTimesSerializer,
    EditorEffortSerializer,
    LeaderboardSerializer,
    LearningLiftSerializer,
    ScopeSerializer,
    TopFeaturesSerializer,
)

VIEW_ANALYTICS = "analytics.view_analysisresult"


class CanViewAnalytics(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.has_perm(VIEW_ANALYTICS))


class AnalysisView(APIView):
    permission_classes = [CanViewAnalytics]
    kind: ClassVar[str] = ""

    def get(self, request: Request) -> Response:
        filters = ScopeSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return Response(analysis_read(kind=self.kind, scope=filters.validated_data["scope"]))


def _view(kind: str, serializer: type[Serializer[Any]], summary: str) -> type[AnalysisView]:
    schema = extend_schema(parameters=[ScopeSerializer], responses=serializer, summary=summary)

    class View(AnalysisView):
        # A get of its own: extend_schema marks the function it decorates, so sharing AnalysisView.get
        # would give every analysis the last one's response schema.
        @schema
        def get(self, request: Request) -> Response:
            return super().get(request)

    View.kind = kind
    View.__name__ = View.__qualname__ = "".join(part.title() for part in kind.split("_")) + "View"
    return View


TopFeaturesView = _view(
    "top_features", TopFeaturesSerializer, "Top 20% against the rest, per feature value, with suggestions"
)
BestTimesView = _view("best_times", BestTimesSerializer, "Hour × weekday grid of the mean 24 h score, shrunk")
LeaderboardView = _view("leaderboard", LeaderboardSerializer, "KOLs by median 24 h score, with weekly trend")
PersonaLeaderboardView = _view(
    "persona_leaderboard", LeaderboardSerializer, "Personas by median 24 h score, with weekly trend"
)
EditorEffortView = _view(
    "editor_effort", EditorEffortSerializer, "Time to approval, reasons, edits, throughput"
)
LearningLiftView = _view("learning_lift", LearningLiftSerializer, "Guided against control posts at 24 h")
