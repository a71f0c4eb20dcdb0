from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from kols.models import KOL


class KOLFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Nickname or serial contains")

    class Meta:
        model = KOL
        fields = ["persona", "status", "dry_run"]

    def search(self, queryset: QuerySet[KOL], name: str, value: str) -> QuerySet[KOL]:
        return queryset.filter(Q(nickname__icontains=value) | Q(serial__icontains=value))
