"""The review queue's list filters and the post page's forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from market.models import Stock
from posting.models import Post

QUEUE = "queue"


class ReviewStatusFilter(admin.SimpleListFilter):
    """The queue by default (pending review); any status, or all, on request."""

    title = gettext_lazy("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [(QUEUE, gettext_lazy("Review queue")), *Post.Status.choices, ("all", gettext_lazy("All"))]

    def choices(self, changelist: Any) -> Any:
        current = self.value() or QUEUE
        for value, label in self.lookup_choices:
            yield {
                "selected": current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Post]) -> QuerySet[Post]:
        value = self.value() or QUEUE
        if value == QUEUE:
            return queryset.filter(status=Post.Status.PENDING_REVIEW)
        if value in Post.Status.values:
            return queryset.filter(status=value)
        return queryset


class IndustryFilter(admin.SimpleListFilter):
    title = gettext_lazy("industry")
    parameter_name = "industry"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        industries = (
            Stock.objects.exclude(industry="").order_by("industry").values_list("industry", flat=True)
        )
        return [(name, name) for name in industries.distinct()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Post]) -> QuerySet[Post]:
        return queryset.filter(stock__industry=self.value()) if self.value() else queryset


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 3}), required=True
    )


class ReviewForm(forms.Form):
    """The editor on the post page. ``version`` is the version the person started from."""

    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    body = forms.CharField(label=gettext_lazy("Body"), widget=forms.Textarea(attrs={"rows": 18}))
    version = forms.IntegerField(widget=forms.HiddenInput)


class WriteForm(forms.Form):
    """A post written by hand for a KOL (the KOL and stock fields come from the admin, with autocomplete)."""

    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    body = forms.CharField(label=gettext_lazy("Body"), widget=forms.Textarea(attrs={"rows": 18}))
