"""Routes of the re-exposure module, included by inference/urls.py (mounted under /api/)."""

from django.urls import path

from . import views

urlpatterns = [
    path("reexpose/<int:panorama>/", views.RadianceInfoView.as_view(), name="reexpose-info"),
    path(
        "reexpose/<int:panorama>/radiance/",
        views.RadianceView.as_view(),
        name="reexpose-radiance",
    ),
]
