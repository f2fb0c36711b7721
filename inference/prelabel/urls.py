"""Routes of pre-labelling, included by inference/urls.py (mounted under /api/)."""

from django.urls import path

from . import api, jobs, versions_api  # noqa: F401  (importing jobs registers the job kinds)

urlpatterns = [
    path("prelabel/interactive/", api.InteractiveView.as_view(), name="prelabel-interactive"),
    path("prelabel/run/", api.RunView.as_view(), name="prelabel-run"),
    path("prelabel/train/", api.TrainView.as_view(), name="prelabel-train"),
    path("prelabel/suggestions/", api.SuggestionsView.as_view(), name="prelabel-suggestions"),
    path("prelabel/suggestions/accept/", api.AcceptView.as_view(), name="prelabel-accept"),
    path("prelabel/suggestions/reject/", api.RejectView.as_view(), name="prelabel-reject"),
    path("prelabel/mappings/", api.MappingView.as_view(), name="prelabel-mappings"),
    path("prelabel/status/", api.StatusView.as_view(), name="prelabel-status"),
    path("prelabel/models/", versions_api.ModelVersionsView.as_view(), name="prelabel-models"),
    path(
        "prelabel/models/activate/",
        versions_api.ActivateView.as_view(),
        name="prelabel-activate",
    ),
    path(
        "prelabel/models/rollback/",
        versions_api.RollbackView.as_view(),
        name="prelabel-rollback",
    ),
    path("prelabel/provenance/", versions_api.ProvenanceView.as_view(), name="prelabel-provenance"),
]
