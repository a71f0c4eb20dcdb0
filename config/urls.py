from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views import defaults
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularSwaggerSplitView

from config.api.errors import (
    dispatch_handler,
    json_bad_request,
    json_not_found,
    json_permission_denied,
    json_server_error,
)
from config.api.schema import SchemaView
from config.health import health

api_patterns: list[URLPattern | URLResolver] = [
    path("", include("kols.api.urls")),
    path("", include("market.api.urls")),
    path("", include("posting.api.urls")),
    path("", include("scheduling.api.urls")),
    path("", include("analytics.api.urls")),
    path("schema/", SchemaView.as_view(), name="schema"),
    # A page for people: anonymous visitors go to the admin login and come back.
    path("docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="schema")), name="docs"),
    # Unknown /api/ URLs answer the JSON error body, DEBUG or not (DEBUG would show its HTML 404 page).
    re_path(r"^.*$", json_not_found),
]

urlpatterns = [
    path("health/", health, name="health"),
    path("api/", include(api_patterns)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
]

handler400 = dispatch_handler(json_bad_request, defaults.bad_request)
handler403 = dispatch_handler(json_permission_denied, defaults.permission_denied)
handler404 = dispatch_handler(json_not_found, defaults.page_not_found)
handler500 = dispatch_handler(json_server_error, defaults.server_error)
