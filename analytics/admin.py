from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from unfold.admin import ModelAdmin

from analytics.models import InteractionSnapshot
from config.admin_display import DemoColumnMixin


@admin.register(InteractionSnapshot)
class InteractionSnapshotAdmin(DemoColumnMixin, ModelAdmin):
    list_display = [
        "post",
        "captured_at",
        "likes",
        "comments",
        "shares",
        "saves",
        "tips",
        "views",
        "demo_flag",
    ]
    list_select_related = ["post"]
    search_fields = ["post__title", "post__platform_post_id"]
    date_hierarchy = "captured_at"
    show_full_result_count = False
    readonly_fields = ["post", "captured_at", "likes", "comments", "shares", "saves", "tips", "views", "raw"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
