"""REST endpoints of pre-labelling (mounted under /api/prelabel/; see docs/prelabel.md)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.models import Instance, Panorama, Project
from annotations.permissions import (
    can_manage,
    require_annotation_write,
    role_of,
    visible_projects,
)
from annotations.services import RevisionConflict
from annotations.views import conflict_response
from inference.models import ModelWeights
from inference.registry import ParamsError
from inference.services import DuplicateJob, submit_job
from label360.sphere import View

from . import serializers as shapes
from . import store

# one request names at most this many panoramas; a whole project goes by its id
MAX_PANORAMAS_PER_RUN = 10_000


def _int(data, key: str, required: bool = True) -> int | None:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise ValidationError({key: "required"})
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError({key: "must be an integer"}) from exc


def _panorama(request, pk: int) -> Panorama:
    return get_object_or_404(
        Panorama.objects.select_related("project"),
        pk=pk,
        project__in=visible_projects(request.user),
    )


def _project(request, pk: int) -> Project:
    return get_object_or_404(visible_projects(request.user), pk=pk)


def _job_response(kind: str, **kwargs) -> Response:
    try:
        job = submit_job(kind, **kwargs)
    except DuplicateJob as exc:
        return Response(
            {"detail": str(exc), "job": exc.existing_job.pk}, status=status.HTTP_409_CONFLICT
        )
    except ParamsError as exc:
        raise ValidationError({"params": str(exc)}) from exc
    return Response(
        {"job": job.pk, "kind": job.kind, "status": job.status}, status=status.HTTP_202_ACCEPTED
    )


def suggestion_json(inst: Instance) -> dict:
    return {
        "id": inst.pk,
        "label_class": inst.label_class_id,
        "class_name": inst.label_class.name,
        "geometry": inst.geometry,
        "score": inst.score,
        "model_version": inst.model_version,
        "order": inst.order,
    }


class InteractiveView(APIView):
    """POST: segment a box in a view → a spherical polygon suggestion (nothing is stored)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=shapes.InteractiveRequestSerializer, responses=shapes.InteractiveResponseSerializer
    )
    def post(self, request):
        from .interactive import respond

        data = request.data
        panorama = _panorama(request, _int(data, "panorama"))
        require_annotation_write(request.user, panorama)
        try:
            v = data["view"]
            view = View(
                float(v["yaw"]),
                float(v["pitch"]),
                float(v.get("roll", 0.0)),
                float(v["hfov"]),
                int(v["width"]),
                int(v["height"]),
            )
            box = tuple(float(c) for c in data["box"])
            positive = [(float(x), float(y)) for x, y in data.get("positive") or []]
            negative = [(float(x), float(y)) for x, y in data.get("negative") or []]
            tolerance = float(data.get("tolerance_deg", 0.2))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(
                {"detail": f"bad request ({exc}); see docs/prelabel.md for the body"}
            ) from exc
        if len(box) != 4 or view.width * view.height > 4096 * 4096:
            raise ValidationError({"box": "give [x0, y0, x1, y1]; views up to 4096²"})
        class_name, weights = None, None
        label_class = _int(data, "label_class", required=False)
        if label_class is not None:
            cls = panorama.project.classes.filter(pk=label_class).first()
            if cls is None:
                raise ValidationError({"label_class": "not a class of this project"})
            class_name = cls.name
            weights = store.project_model(panorama.project)
        try:
            body = respond(
                panorama, view, box, positive, negative, class_name, weights, tolerance,
                request.user,
            )  # fmt: skip
        except ValueError as exc:
            raise ValidationError({"box": str(exc)}) from exc
        return Response({**body, "label_class": label_class})


class RunView(APIView):
    """POST: queue a 'prelabel' job for a project (managers) or some panoramas (editors)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=shapes.RunRequestSerializer, responses={202: shapes.JobQueuedSerializer})
    def post(self, request):
        shape = shapes.RunRequestSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        data = shape.validated_data
        params = {k: data[k] for k in ("weights", "min_score", "tolerance_deg") if k in data}
        ids = data.get("panoramas") or []
        if len(ids) > MAX_PANORAMAS_PER_RUN:
            raise ValidationError({"panoramas": f"at most {MAX_PANORAMAS_PER_RUN} per request"})
        if ids:
            panoramas = [_panorama(request, pk) for pk in ids]
            for panorama in panoramas:
                require_annotation_write(request.user, panorama)
            return _job_response(
                "prelabel", requester=request.user, panoramas=panoramas, params=params
            )
        project = _project(request, _int(data, "project"))
        if not can_manage(request.user, project):
            raise PermissionDenied("Only managers pre-label a whole project.")
        return _job_response("prelabel", requester=request.user, project=project, params=params)


class TrainView(APIView):
    """POST: queue a 'prelabel_train' job for a project (managers)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=shapes.TrainRequestSerializer, responses={202: shapes.JobQueuedSerializer}
    )
    def post(self, request):
        project = _project(request, _int(request.data, "project"))
        if not can_manage(request.user, project):
            raise PermissionDenied("Only managers train the project model.")
        params = {k: v for k, v in request.data.items() if k != "project"}
        return _job_response(
            "prelabel_train", requester=request.user, project=project, params=params
        )


class SuggestionsView(APIView):
    """GET ?panorama=ID: the panorama's unaccepted suggestions and its revision."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        parameters=[OpenApiParameter("panorama", int, required=True)],
        responses=shapes.SuggestionsResponseSerializer,
    )
    def get(self, request):
        panorama = _panorama(request, _int(request.query_params, "panorama"))
        qs = (
            Instance.objects.filter(panorama=panorama, is_suggestion=True)
            .select_related("label_class")
            .order_by("-score", "id")
        )
        return Response(
            {"revision": panorama.revision, "suggestions": [suggestion_json(i) for i in qs]}
        )


class _DecisionView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    def _prepare(self, request) -> tuple[Panorama, int]:
        panorama = _panorama(request, _int(request.data, "panorama"))
        require_annotation_write(request.user, panorama)
        return panorama, _int(request.data, "revision")

    @staticmethod
    def _ids(data) -> list[int] | None:
        ids = data.get("ids")
        if ids is None:
            return None
        if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
            raise ValidationError({"ids": "a list of instance ids"})
        return ids


class AcceptView(_DecisionView):
    """POST {panorama, revision, ids?, min_score?}: accept suggestions (revision-checked)."""

    @extend_schema(
        request=shapes.AcceptRequestSerializer, responses=shapes.AcceptResponseSerializer
    )
    def post(self, request):
        panorama, revision = self._prepare(request)
        ids = self._ids(request.data)
        min_score = request.data.get("min_score")
        if ids is None and min_score is None:
            raise ValidationError({"detail": "give ids or min_score"})
        try:
            accepted, new_revision = store.accept_suggestions(
                panorama, revision, ids=ids, min_score=min_score, user=request.user
            )
        except RevisionConflict as exc:
            return conflict_response(exc)
        return Response({"accepted": accepted, "revision": new_revision})


class RejectView(_DecisionView):
    """POST {panorama, revision, ids}: delete suggestions (revision-checked)."""

    @extend_schema(
        request=shapes.RejectRequestSerializer, responses=shapes.RejectResponseSerializer
    )
    def post(self, request):
        panorama, revision = self._prepare(request)
        ids = self._ids(request.data)
        if ids is None:
            raise ValidationError({"ids": "required"})
        try:
            rejected, new_revision = store.reject_suggestions(
                panorama, revision, ids, user=request.user
            )
        except RevisionConflict as exc:
            return conflict_response(exc)
        return Response({"rejected": rejected, "revision": new_revision})


class MappingView(APIView):
    """GET ?project&weights / PUT {project, weights, mapping}: uploaded-model class mapping."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("project", int, required=True),
            OpenApiParameter("weights", int, required=True),
        ],
        responses=shapes.MappingResponseSerializer,
    )
    def get(self, request):
        project = _project(request, _int(request.query_params, "project"))
        weights = get_object_or_404(ModelWeights, pk=_int(request.query_params, "weights"))
        return Response(
            {
                "project": project.pk,
                "weights": weights.pk,
                "model_classes": weights.class_names,
                "mapping": store.class_mapping(project, weights),
            }
        )

    @extend_schema(
        request=shapes.MappingRequestSerializer, responses=shapes.MappingResponseSerializer
    )
    def put(self, request):
        project = _project(request, _int(request.data, "project"))
        if not can_manage(request.user, project):
            raise PermissionDenied("Only managers change class mappings.")
        weights = get_object_or_404(ModelWeights, pk=_int(request.data, "weights"))
        try:
            mapping = store.save_class_mapping(project, weights, request.data.get("mapping"))
        except DjangoValidationError as exc:
            raise ValidationError(
                exc.message_dict if hasattr(exc, "error_dict") else exc.messages
            ) from exc
        return Response({"project": project.pk, "weights": weights.pk, "mapping": mapping})


class StatusView(APIView):
    """GET ?project=ID: the project model and saved class mappings."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        parameters=[OpenApiParameter("project", int, required=True)],
        responses=shapes.StatusResponseSerializer,
    )
    def get(self, request):
        project = _project(request, _int(request.query_params, "project"))
        weights = store.project_model(project)
        model = None
        if weights is not None:
            model = {
                "id": weights.pk,
                "name": weights.name,
                "version": weights.version,
                "class_names": weights.class_names,
            }
        settings = store.prelabel_settings(project)
        return Response(
            {
                "project": project.pk,
                "role": role_of(request.user, project),
                "project_model": model,
                "class_mappings": settings.get("class_mappings", {}),
            }
        )
