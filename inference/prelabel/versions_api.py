"""REST endpoints of project model versions and suggestion provenance (under /api/prelabel/).

* ``GET models/?project=ID`` — versions with per-class validation IoU, calibration and
  provenance; which one is active; the activation history.
* ``POST models/activate/`` ``{project, weights}`` — managers choose the active version.
* ``POST models/rollback/`` ``{project}`` — managers go back to the previously active one.
* ``GET provenance/?panorama=ID`` — for each model version whose suggestions the panorama
  shows: trained on what, validation IoU per class, whether its scores are calibrated.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.models import Instance, Project
from annotations.permissions import can_manage
from inference.models import ModelWeights

from . import serializers as shapes
from . import store, versions
from .api import _int, _panorama, _project


def provenance(project: Project, model_versions: set[str]) -> dict:
    """Provenance per model_version text (trained on what, validation IoU per class,
    calibration), for every version whose weights are known, and for the pretrained
    detectors' suggestions."""
    from inference.detectors import store as detector_store

    known = store.prelabel_settings(project).get("suggestion_models") or {}
    ids = {v: known[v] for v in model_versions if v in known}
    weights = {w.pk: w for w in ModelWeights.objects.filter(pk__in=set(ids.values()))}
    out = {v: versions.provenance_json(weights[pk]) for v, pk in ids.items() if pk in weights}
    for v in model_versions:
        if v and v.startswith(detector_store.VERSION_PREFIX):
            out[v] = detector_store.provenance(v)
    return out


class ModelVersionsView(APIView):
    """GET ?project=ID: the project's model versions (validation per class, calibration,
    provenance; which one is active) and the activation history."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        parameters=[OpenApiParameter("project", int, required=True)],
        responses=shapes.ModelVersionsResponseSerializer,
    )
    def get(self, request):
        project = _project(request, _int(request.query_params, "project"))
        active = store.prelabel_settings(project).get("project_model")
        rows = ModelWeights.objects.filter(project=project).order_by("-created_at", "-pk")
        return Response(
            {
                "project": project.pk,
                "active": active,
                "versions": [versions.version_json(w, active) for w in rows],
                "history": store.prelabel_settings(project).get("model_history") or [],
            }
        )


class ActivateView(APIView):
    """POST {project, weights}: make a version of the project's model the active one
    (managers) — also how a worse-scoring version is chosen on purpose."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=shapes.ActivateRequestSerializer, responses=shapes.ActiveModelSerializer)
    def post(self, request):
        project = _project(request, _int(request.data, "project"))
        if not can_manage(request.user, project):
            raise PermissionDenied("Only managers choose the project model.")
        weights = get_object_or_404(ModelWeights, pk=_int(request.data, "weights"), project=project)
        versions.activate(project, weights, by=request.user.username, reason="chosen by a manager")
        return Response({"project": project.pk, "active": weights.pk})


class RollbackView(APIView):
    """POST {project}: activate the version that was active before (managers)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=shapes.RollbackRequestSerializer, responses=shapes.ActiveModelSerializer)
    def post(self, request):
        project = _project(request, _int(request.data, "project"))
        if not can_manage(request.user, project):
            raise PermissionDenied("Only managers choose the project model.")
        try:
            weights = versions.rollback(project, by=request.user.username)
        except ValueError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response({"project": project.pk, "active": weights.pk})


class ProvenanceView(APIView):
    """GET ?panorama=ID: provenance of the model versions behind its suggestions."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        parameters=[OpenApiParameter("panorama", int, required=True)],
        responses=shapes.ProvenanceResponseSerializer,
    )
    def get(self, request):
        panorama = _panorama(request, _int(request.query_params, "panorama"))
        shown = set(
            Instance.objects.filter(panorama=panorama, is_suggestion=True).values_list(
                "model_version", flat=True
            )
        )
        return Response({"panorama": panorama.pk, "models": provenance(panorama.project, shown)})
