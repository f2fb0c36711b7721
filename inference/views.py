"""REST API: /api/jobs/, /api/assets/, /api/models/ (see docs/jobs.md)."""

from __future__ import annotations

from django.db.models import Q
from django.http import FileResponse, Http404
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.response import Response

from annotations.permissions import can_manage, is_admin, visible_projects

from .models import DerivedAsset, Job, ModelWeights
from .registry import ParamsError, get_kind
from .serializers import (
    DerivedAssetSerializer,
    JobCreateSerializer,
    JobSerializer,
    ModelWeightsSerializer,
)
from .services import DuplicateJob, JobStateError, cancel_job, retry_job, submit_job


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
        return Response(self.get_serializer(job).data, status=status.HTTP_201_CREATED)

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
        return Response(self.get_serializer(job).data)

    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._manage(request, cancel_job)

    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        return self._manage(request, retry_job)


class DerivedAssetViewSet(viewsets.ReadOnlyModelViewSet):
    """Derived files of visible panoramas: ?panorama=ID&kind=depth; /file/ downloads."""

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
        return FileResponse(handle, as_attachment=True, filename=filename)


class IsStaffOrReadOnly(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return bool(request.user and request.user.is_authenticated)
        return is_admin(request.user)


class ModelWeightsViewSet(viewsets.ModelViewSet):
    """Registered TorchScript weights: everyone signed in reads, admins upload/delete."""

    serializer_class = ModelWeightsSerializer
    permission_classes = [permissions.IsAuthenticated, IsStaffOrReadOnly]
    filterset_fields = ["task"]
    queryset = ModelWeights.objects.all()
    http_method_names = ["get", "post", "delete", "head", "options"]
