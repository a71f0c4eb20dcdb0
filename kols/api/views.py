from __future__ import annotations

from rest_framework import viewsets

from kols.api.serializers import KOLSerializer
from kols.filters import KOLFilter
from kols.models import KOL


class KOLViewSet(viewsets.ReadOnlyModelViewSet[KOL]):
    queryset = KOL.objects.prefetch_related("accounts").order_by("nickname", "id")
    serializer_class = KOLSerializer
    filterset_class = KOLFilter
    ordering_fields = ["nickname", "serial", "created_at"]
