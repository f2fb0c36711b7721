"""URL routing: the API under /api/, its schema and docs, admin, health, and the UI."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from .health import healthz
from .tokenviews import ObtainExpiringAuthToken

api_patterns = [
    path("", include("annotations.urls")),
    path("", include("inference.urls")),
    path("", include("datasets.urls")),
    path("", include("sequences.urls")),
    path("auth/token/", ObtainExpiringAuthToken.as_view(), name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # the split view serves Swagger UI's start-up script as a file: no inline script for the CSP
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("frontend.urls")),
]
