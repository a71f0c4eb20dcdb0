"""DRF throttles whose rates are read from settings at request time (DRF's own read them once, at import),
so an operator sets them by environment and a test can change them."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class AnonThrottle(AnonRateThrottle):
    def get_rate(self) -> str | None:
        return settings.API_THROTTLE_ANON_RATE or None


class UserThrottle(UserRateThrottle):
    def get_rate(self) -> str | None:
        return settings.API_THROTTLE_USER_RATE or None
