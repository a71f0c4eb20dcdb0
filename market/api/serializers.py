from __future__ import annotations

from rest_framework import serializers

from market.models import Stock


class StockSerializer(serializers.ModelSerializer[Stock]):
    class Meta:
        model = Stock
        fields = ["id", "code", "name", "market", "industry", "issued_shares", "capital_twd", "is_active"]
        read_only_fields = fields
