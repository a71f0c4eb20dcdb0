from __future__ import annotations

from typing import Any

from rest_framework.permissions import DjangoModelPermissions
from rest_framework.request import Request


class ModelPermissions(DjangoModelPermissions):
    """Authenticated users with the model permission; reads need the ``view`` permission too.

    DRF's DjangoModelPermissions lets any authenticated user read. Here a read needs ``view_<model>``,
    so a role sees only what its group grants. A viewset's explicit actions declare what they need in
    ``action_permissions`` ({"approve": ["posting.review_post"]}), checked here, once, for every endpoint.
    """

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            # DRF checks throttles after permissions: without this an anonymous flood is never throttled.
            view.check_throttles(request)
            return False
        declared = getattr(view, "action_permissions", {}).get(getattr(view, "action", None))
        if declared is not None:
            return bool(request.user and request.user.is_authenticated and request.user.has_perms(declared))
        if getattr(view, "queryset", None) is None and not hasattr(view, "get_queryset"):
            # A plain ViewSet asked for a method it does not route (OPTIONS, PUT ...): once the caller is
            # known, the view answers 405 itself; there is no model to take a permission from.
            return bool(request.user and request.user.is_authenticated)
        return super().has_permission(request, view)
