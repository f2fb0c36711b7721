"""REST API: /api/jobs/, /api/assets/, /api/models/ (see docs/jobs.md)."""

from __future__ import annotations

from django.db import connection
from django.db.models import Q
from django.http import FileResponse, Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.response import Response

from annotations.permissions import can_manage, is_admin, visible_projects

from .derived_images import BROWSER_FORMATS, file_format
from .image_views import DerivedImageActions
from .models import DerivedAsset, Job, ModelWeights
from .registry import ParamsError, get_kind
from .serializers import (
    DerivedAssetSerializer,
    JobConflictSerializer,
    JobCreateSerializer,
    JobKindRunRequestSerializer,
    JobKindRunResponseSerializer,
    JobKindSerializer,
    JobSerializer,
    ModelWeightsSerializer,
    refuse_unknown_fields,
)
from .services import DuplicateJob, JobStateError, cancel_job, retry_job, submit_job

BROKER_DOWN = (
    "The job queue (broker) is unreachable. Job #{pk} is saved and will start by itself "
    "once the queue is back; there is no need to submit it again."
)


def _unpublished(job: Job, request) -> Response | None:
    """503 when the job's message could not reach the broker (the row stays in the outbox)."""
    if job.published_at is not None or connection.in_atomic_block:
        return None  # published, or publishing waits for an outer transaction's commit
    body = {
        "detail": BROKER_DOWN.format(pk=job.pk),
        "code": "broker_unavailable",
        "job": JobSerializer(job, context={"request": request}).data,
    }
    return Response(body, status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "30"})


def _may_manage_job(user, job: Job) -> bool:
    if is_admin(user):
        return True
    if job.project_id is None:
        return job.requester_id == user.pk
    return can_manage(user, job.project_id)


class JobViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Jobs of the user's projects; managers and admins create, cancel and retry."""

    serializer_class = JobSerializer
    filterset_fields = ["kind", "status", "project"]
    ordering_fields = ["created_at", "finished_at", "status"]

    def get_queryset(self):
        user = self.request.user
        qs = Job.objects.select_related("requester").prefetch_related("panoramas", "assets")
        if is_admin(user):
            return qs
        return qs.filter(
            Q(project__in=visible_projects(user)) | Q(project__isnull=True, requester=user)
        )

    @extend_schema(
        request=JobCreateSerializer,
        responses={201: JobSerializer, 409: JobConflictSerializer, 503: JobConflictSerializer},
    )
    def create(self, request, *args, **kwargs):
        data = JobCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        kind_name = data.validated_data["kind"]
        project = data.validated_data.get("project")
        panoramas = data.validated_data.get("panoramas", [])
        try:
            kind = get_kind(kind_name)
        except KeyError as exc:
            raise DRFValidationError({"kind": str(exc.args[0])}) from exc
        projects = {p.project_id for p in panoramas} | ({project.pk} if project else set())
        user = request.user
        if not is_admin(user):
            visible = set(visible_projects(user).values_list("pk", flat=True))
            if projects - visible:
                raise Http404
            if kind.staff_only or not projects:
                raise PermissionDenied("Only administrators may run this job.")
            if not all(can_manage(user, pid) for pid in projects):
                raise PermissionDenied("Only project managers may start processing jobs.")
        if len(projects) > 1:
            raise DRFValidationError({"panoramas": "all panoramas must belong to one project"})
        try:
            job = submit_job(
                kind_name,
                requester=user,
                project=project,
                panoramas=panoramas,
                params=data.validated_data.get("params") or {},
            )
        except ParamsError as exc:
            raise DRFValidationError({"params": str(exc)}) from exc
        except DuplicateJob as dup:
            body = {
                "detail": "An identical job is already queued or running.",
                "job": JobSerializer(dup.existing_job, context={"request": request}).data,
            }
            return Response(body, status=status.HTTP_409_CONFLICT)
        return _unpublished(job, request) or Response(
            self.get_serializer(job).data, status=status.HTTP_201_CREATED
        )

    def _manage(self, request, operation):
        job = self.get_object()
        if not _may_manage_job(request.user, job):
            raise PermissionDenied("Only project managers may change processing jobs.")
        try:
            job = operation(job)
        except JobStateError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        except DuplicateJob as dup:
            body = {
                "detail": "An identical job is already queued or running.",
                "job": JobSerializer(dup.existing_job).data,
            }
            return Response(body, status=status.HTTP_409_CONFLICT)
        return _unpublished(job, request) or Response(self.get_serializer(job).data)

    @extend_schema(request=None, responses={200: JobSerializer, 409: JobConflictSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._manage(request, cancel_job)

    @extend_schema(
        request=None,
        responses={200: JobSerializer, 409: JobConflictSerializer, 503: JobConflictSerializer},
    )
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        return self._manage(request, retry_job)


class DerivedAssetViewSet(DerivedImageActions, viewsets.ReadOnlyModelViewSet):
    """Derived files of visible panoramas: ?panorama=ID&kind=depth; /file/ downloads
    (?inline=1: a JPEG or PNG shown in the browser); images/, display/, tiles/ show them."""

    serializer_class = DerivedAssetSerializer
    filterset_fields = ["panorama", "kind", "job"]

    def get_queryset(self):
        qs = DerivedAsset.objects.all()
        user = self.request.user
        if is_admin(user):
            return qs
        return qs.filter(panorama__project__in=visible_projects(user))

    @action(detail=True, methods=["get"], url_path="file", url_name="file")
    def file(self, request, pk=None):
        asset = self.get_object()
        try:
            handle = asset.file.open("rb")
        except (FileNotFoundError, OSError) as exc:
            raise Http404("the file of this asset is missing from storage") from exc
        filename = asset.file.name.rsplit("/", 1)[-1].split("-", 1)[-1]
        inline = request.query_params.get("inline") == "1" and file_format(asset) in BROWSER_FORMATS
        return FileResponse(handle, as_attachment=not inline, filename=filename)


class IsStaffOrReadOnly(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return bool(request.user and request.user.is_authenticated)
        return is_admin(request.user)


class ModelWeightsViewSet(viewsets.ModelViewSet):
    """Registered TorchScript / ONNX weights: everyone signed in reads, admins upload/delete."""

    serializer_class = ModelWeightsSerializer
    permission_classes = [permissions.IsAuthenticated, IsStaffOrReadOnly]
    filterset_fields = ["task"]
    queryset = ModelWeights.objects.all()
    http_method_names = ["get", "post", "delete", "head", "options"]


class JobKindViewSet(viewsets.ViewSet):
    """Job kinds that can be started from the browser, with their parameter forms.

    ``GET /api/job-kinds/`` lists them; ``POST /api/job-kinds/{name}/run/`` with
    ``{project, panoramas?: [ids], fields: {...}}`` validates the form and starts the jobs
    on those panoramas (none: the whole project), like the admin action does.
    """

    lookup_value_regex = r"[\w-]+"

    @extend_schema(responses=JobKindSerializer(many=True))
    def list(self, request):
        from .kind_forms import kind_schema, startable_kinds

        return Response([kind_schema(k) for k in startable_kinds(is_admin(request.user))])

    @extend_schema(
        parameters=[OpenApiParameter("id", str, OpenApiParameter.PATH, description="kind name")],
        request=JobKindRunRequestSerializer,
        responses={201: JobKindRunResponseSerializer, 200: JobKindRunResponseSerializer},
    )
    @action(detail=True, methods=["post"])
    def run(self, request, pk=None):
        from annotations.models import Panorama

        from .kind_forms import MAX_TARGETS, params_from_form, startable_kinds, submit_for_targets

        kind = next((k for k in startable_kinds(is_admin(request.user)) if k.name == pk), None)
        if kind is None:
            raise Http404
        project = visible_projects(request.user).filter(pk=request.data.get("project")).first()
        if project is None:
            raise Http404
        if not can_manage(request.user, project):
            raise PermissionDenied("Only project managers may start processing jobs.")
        refuse_unknown_fields(request.data, JobKindRunRequestSerializer().fields)  # its schema
        ids = request.data.get("panoramas") or []
        fields = request.data.get("fields") or {}
        if not isinstance(ids, list) or len(ids) > MAX_TARGETS:
            raise DRFValidationError({"panoramas": f"a list of at most {MAX_TARGETS} ids"})
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise DRFValidationError({"panoramas": "panorama ids are integers"})
        if not isinstance(fields, dict):
            raise DRFValidationError({"fields": "the form's fields as an object"})
        if ids and "panorama" not in kind.admin_targets:
            raise DRFValidationError({"panoramas": f"{kind.label} runs on a whole project"})
        if not ids and "project" not in kind.admin_targets:
            raise DRFValidationError({"panoramas": f"{kind.label} runs on chosen panoramas"})
        panoramas = list(Panorama.objects.filter(project=project, pk__in=ids).order_by("id"))
        if len(panoramas) != len(set(ids)):
            raise DRFValidationError({"panoramas": "some panoramas are not in this project"})
        if not ids and kind.per_panorama:
            panoramas = list(Panorama.objects.filter(project=project).order_by("id"))
            if not panoramas:
                raise DRFValidationError({"panoramas": "the project has no panoramas yet"})
        try:
            params = params_from_form(kind, {k: v for k, v in fields.items() if isinstance(k, str)})
            created, duplicates = submit_for_targets(kind, request.user, project, panoramas, params)
        except ParamsError as exc:
            raise DRFValidationError({"fields": str(exc)}) from exc
        context = {"request": request}
        return Response(
            {
                "jobs": JobSerializer(created, many=True, context=context).data,
                "duplicates": JobSerializer(duplicates, many=True, context=context).data,
            },
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
