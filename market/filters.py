from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from market.models import Stock


class StockFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Code or name contains")

    class Meta:
        model = Stock
        fields = ["market", "industry", "is_active"]

    def search(self, queryset: QuerySet[Stock], name: str, value: str) -> QuerySet[Stock]:
        return queryset.filter(Q(code__icontains=value) | Q(name__icontains=value))
