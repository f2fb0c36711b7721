"""Routes of the annotation UI (the API lives under /api/)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.projects, name="projects"),
    path("projects/<int:project_id>/", views.navigator, name="navigator"),
    path("projects/<int:project_id>/export/", views.exports, name="exports"),
    path("projects/<int:project_id>/agreement/", views.agreement, name="agreement"),
    path("projects/<int:project_id>/settings/", views.settings_page, name="project-settings"),
    path("projects/<int:project_id>/upload/", views.upload, name="upload"),
    path("projects/<int:project_id>/dashboard/", views.dashboard, name="dashboard"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("panoramas/<int:panorama_id>/", views.workspace, name="workspace"),
]
