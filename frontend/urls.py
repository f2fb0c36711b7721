"""Routes of the annotation UI (the API lives under /api/)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.projects, name="projects"),
    path("projects/<int:project_id>/", views.navigator, name="navigator"),
    path("projects/<int:project_id>/export/", views.exports, name="exports"),
    path("projects/<int:project_id>/agreement/", views.agreement, name="agreement"),
    path("panoramas/<int:panorama_id>/", views.workspace, name="workspace"),
]
