"""REST endpoint of the detectors: the project's mapping of detector outputs to its classes.

``GET /api/detectors/mapping/?project=ID`` (members) → ``{"project", "outputs", "classes",
"weights_missing"}``; ``PUT`` ``{"project": ID, "classes": {"face": "...", "text": "...",
"plate": "..."}}`` (managers) → 200, or 400 naming every bad entry. Running the detectors
goes through the job API (``POST /api/jobs/`` with kind ``detect`` or ``privacy_blur``).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.permissions import can_manage, visible_projects

from . import store, weights
from .classes import OUTPUTS

_RESPONSE = inline_serializer(
    "DetectorMapping",
    {
        "project": serializers.IntegerField(),
        "outputs": serializers.ListField(child=serializers.CharField()),
        "classes": serializers.DictField(child=serializers.CharField()),
        "weights_missing": serializers.ListField(child=serializers.CharField()),
    },
)


def _project_id(value) -> int:
    try:
        pk = int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"project": "an integer project id is required"}) from exc
    if not 0 < pk < 2**63:
        raise ValidationError({"project": "out of range"})
    return pk


class MappingView(APIView):
    """GET ?project / PUT {project, classes}: detector outputs → project classes."""

    permission_classes = [permissions.IsAuthenticated]

    def _body(self, project) -> dict:
        return {
            "project": project.pk,
            "outputs": list(OUTPUTS),
            "classes": store.class_mapping(project),
            "weights_missing": weights.missing(),
        }

    @extend_schema(
        parameters=[OpenApiParameter("project", int, required=True)], responses=_RESPONSE
    )
    def get(self, request):
        pk = _project_id(request.query_params.get("project"))
        project = get_object_or_404(visible_projects(request.user), pk=pk)
        return Response(self._body(project))

    @extend_schema(
        request=inline_serializer(
            "DetectorMappingRequest",
            {
                "project": serializers.IntegerField(),
                "classes": serializers.DictField(child=serializers.CharField()),
            },
        ),
        responses=_RESPONSE,
    )
    def put(self, request):
        if not isinstance(request.data, dict):
            raise ValidationError({"detail": "give a JSON object {project, classes}"})
        pk = _project_id(request.data.get("project"))
        project = get_object_or_404(visible_projects(request.user), pk=pk)
        if not can_manage(request.user, project):
            raise PermissionDenied("Only managers change the detector class mapping.")
        try:
            store.save_mapping(project, request.data.get("classes"))
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
        return Response(self._body(project))
