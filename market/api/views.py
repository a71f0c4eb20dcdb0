from __future__ import annotations

from rest_framework import viewsets

from market.api.serializers import StockSerializer
from market.filters import StockFilter
from market.models import Stock


class StockViewSet(viewsets.ReadOnlyModelViewSet[Stock]):
    queryset = Stock.objects.order_by("code")
    serializer_class = StockSerializer
    filterset_class = StockFilter
    lookup_field = "code"
    ordering_fields = ["code", "name", "capital_twd"]
