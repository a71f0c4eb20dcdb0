from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from kols.api.serializers import KOLPlaybooksSerializer, KOLSerializer, PlaybookActivateSerializer
from kols.filters import KOLFilter
from kols.models import KOL, Playbook
from kols.playbooks import playbook_activate

VERSIONS_SHOWN = 20


class KOLViewSet(viewsets.ReadOnlyModelViewSet[KOL]):
    queryset = KOL.objects.prefetch_related("accounts").order_by("nickname", "id")
    serializer_class = KOLSerializer
    filterset_class = KOLFilter
    ordering_fields = ["nickname", "serial", "created_at"]
    action_permissions = {
        "playbook": ["kols.view_kol", "kols.view_playbook"],
        "playbook_activate": ["kols.view_kol", "kols.activate_playbook"],
    }

    def _playbooks(self, kol: KOL) -> dict[str, Any]:
        versions = list(Playbook.objects.filter(kol=kol).order_by("-version")[:VERSIONS_SHOWN])
        active = next((playbook for playbook in versions if playbook.status == Playbook.Status.ACTIVE), None)
        if active is None:
            active = Playbook.objects.filter(kol=kol, status=Playbook.Status.ACTIVE).first()
        return KOLPlaybooksSerializer({"active": active, "versions": versions}).data

    @extend_schema(request=None, responses=KOLPlaybooksSerializer, filters=False)
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def playbook(self, request: Request, pk: str | None = None) -> Response:
        """The KOL's active playbook (what generation adds to the prompt) and its recent versions."""
        return Response(self._playbooks(self.get_object()))

    @extend_schema(request=PlaybookActivateSerializer, responses=KOLPlaybooksSerializer, filters=False)
    @action(
        detail=True,
        methods=["post"],
        url_path="playbook/activate",
        filterset_class=None,
        pagination_class=None,
    )
    def playbook_activate(self, request: Request, pk: str | None = None) -> Response:
        """Activate one version (Administrators): its lines go into every prompt of this KOL from now on."""
        kol = self.get_object()
        body = PlaybookActivateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        playbook = Playbook.objects.filter(kol=kol, version=body.validated_data["version"]).first()
        if playbook is None:
            raise serializers.ValidationError({"version": [_("This KOL has no playbook with that version.")]})
        playbook_activate(playbook=playbook, by=request.user)
        return Response(self._playbooks(kol))
