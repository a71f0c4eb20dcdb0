"""The stance ledger in the admin: read-only, written when posts are published."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from unfold.admin import ModelAdmin

from posting.models import StanceEntry


@admin.register(StanceEntry)
class StanceEntryAdmin(ModelAdmin):
    list_display = ("published_at", "kol", "stock", "stance", "thesis", "source", "post")
    list_filter = ("stance", "source")
    list_select_related = ("kol", "stock", "post")
    search_fields = ("thesis", "stock__code", "stock__name", "kol__nickname")
    date_hierarchy = "published_at"
    show_full_result_count = False
    readonly_fields = ("kol", "stock", "post", "stance", "thesis", "source", "published_at", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: StanceEntry | None = None) -> bool:
        return False
