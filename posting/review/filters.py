from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from config.api.filters import DateFromToRangeFilter
from kols.models import KOL
from posting.models import Post


class PostFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Post.Status.choices)
    kol = django_filters.ModelChoiceFilter(queryset=KOL.objects.all())
    stock = django_filters.CharFilter(field_name="stock__code", label=_("Stock code"))
    created = DateFromToRangeFilter(
        field_name="created_at", label=_("Created (created_after / created_before, YYYY-MM-DD, Asia/Taipei)")
    )
    risk_level = django_filters.MultipleChoiceFilter(choices=Post.RiskLevel.choices)
    generator = django_filters.ChoiceFilter(choices=Post.Generator.choices)
    batch = django_filters.NumberFilter(field_name="batch_id")
    q = django_filters.CharFilter(method="search", label=_("Title, body or stock code contains"))

    class Meta:
        model = Post
        fields = ["status", "kol", "stock", "created", "risk_level", "generator", "batch"]

    def search(self, queryset: QuerySet[Post], name: str, value: str) -> QuerySet[Post]:
        return queryset.filter(Q(title__icontains=value) | Q(body__icontains=value) | Q(stock__code=value))
