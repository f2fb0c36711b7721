"""Routes of the detectors, included by inference/urls.py (mounted under /api/)."""

from django.urls import path

from . import api

urlpatterns = [
    path("detectors/mapping/", api.MappingView.as_view(), name="detectors-mapping"),
]
