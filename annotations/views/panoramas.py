"""Views of panoramas: upload, list and filter, edit, bulk assignment, active time, the
review workflow; the images and the instance set come from mixins (panorama_files.py,
instances.py)."""

from __future__ import annotations

from django.db.models import Count, Q
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from label360.parsers import StrictFormParser, StrictJSONParser, StrictMultiPartParser

from .. import activity
from ..assignment import AssignmentError, assign, resolve_users, targets
from ..models import Panorama
from ..permissions import can_manage, may_annotate, role_of, visible_project
from ..serializers import (
    ActiveTimeSerializer,
    AssignSerializer,
    PanoramaSerializer,
    PanoramaUploadSerializer,
    ReviewEventSerializer,
    ReviewRequestSerializer,
)
from ..uploads import UploadRejected, store_panorama
from ..workflow import WorkflowError, transition
from .common import ProjectScopedViewSet
from .instances import PanoramaInstancesMixin
from .panorama_files import PanoramaFilesMixin


class PanoramaFilter(filters.FilterSet):
    assignee = filters.CharFilter(field_name="assignees__username")
    unassigned = filters.BooleanFilter(field_name="assignees", lookup_expr="isnull")

    class Meta:
        model = Panorama
        fields = ["project", "status", "assignee", "is_hdr", "unassigned"]


class PanoramaViewSet(PanoramaFilesMixin, PanoramaInstancesMixin, ProjectScopedViewSet):
    """Panoramas: multipart upload (one or many files), list/filter/search, images, reviews."""

    serializer_class = PanoramaSerializer
    filterset_class = PanoramaFilter
    search_fields = ["original_name", "sha256"]
    ordering_fields = ["id", "original_name", "created_at", "updated_at", "status"]
    parser_classes = [StrictJSONParser, StrictMultiPartParser, StrictFormParser]
    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]

    def write_check(self, request, panorama: Panorama) -> bool:
        if self.action == "instances":
            return may_annotate(request.user, panorama)  # the state is checked by the write
        if self.action in {"submit", "approve", "reject", "reopen"}:
            return True  # the workflow module checks the role for each transition
        if self.action == "active_time":
            return role_of(request.user, panorama.project_id) not in (None, "viewer")
        return can_manage(request.user, panorama.project_id)

    def get_queryset(self):
        queryset = self.scoped(Panorama.objects.all()).prefetch_related("assignees")
        if self.action == "instances":
            # reading or saving the instances needs neither the count nor the GROUP BY
            return queryset.distinct().order_by("project", "id")
        # Meta.ordering is not applied to aggregated (GROUP BY) querysets: order explicitly,
        # so that pages are stable
        return (
            queryset.annotate(
                instance_count=Count("instances", filter=Q(instances__is_suggestion=False))
            )
            .distinct()
            .order_by("project", "id")
        )

    @extend_schema(request=PanoramaUploadSerializer)
    def create(self, request, *args, **kwargs):
        """Upload panoramas; each file succeeds or fails on its own.

        201 when at least one file was stored, 400 when none was. The body lists
        ``created`` panoramas and ``errors`` ({file, error, existing_id}).
        """
        project_id = request.data.get("project")
        project = visible_project(request.user, project_id)
        self.check_create(project)
        files = request.FILES.getlist("files") or request.FILES.getlist("file")
        if not files:
            raise ValidationError({"files": "attach one or more image files"})
        created, errors = [], []
        for upload in files:
            try:
                data = upload.read()
                panorama = store_panorama(project, upload.name, data, request.user)
                created.append(panorama)
            except UploadRejected as exc:
                errors.append(
                    {"file": upload.name, "error": exc.reason, "existing_id": exc.existing_id}
                )
        body = {
            "created": PanoramaSerializer(created, many=True, context={"request": request}).data,
            "errors": errors,
        }
        return Response(body, status=status.HTTP_201_CREATED if created else 400)

    def update(self, request, *args, **kwargs):
        kwargs["partial"] = True
        return super().update(request, *args, **kwargs)

    @extend_schema(request=AssignSerializer)
    @action(detail=False, methods=["post"])
    def assign(self, request):
        """Bulk assignment: {project, panoramas: [ids] | next_unassigned: N, users: [names],
        mode: add|replace|remove, distribute: bool}. Managers only."""
        body = AssignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        project = visible_project(request.user, data["project"])
        self.check_create(project)
        try:
            users = resolve_users(project, data["users"])
            ids = targets(project, data.get("panoramas"), data.get("next_unassigned"))
            result = assign(project, ids, users, data["mode"], data["distribute"])
        except AssignmentError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response({**result, "ids": ids})

    @extend_schema(request=ActiveTimeSerializer)
    @action(detail=True, methods=["post"], url_path="active-time")
    def active_time(self, request, pk=None):
        """A heartbeat of active annotation time: {seconds} counted by the workspace."""
        panorama = self.get_object()
        body = ActiveTimeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        counted = activity.record(request.user, panorama, body.validated_data["seconds"])
        return Response({"counted": counted, "per_user": activity.per_user(panorama.pk)})

    @action(detail=True, methods=["get"])
    def events(self, request, pk=None):
        panorama = self.get_object()
        return Response(ReviewEventSerializer(panorama.events.all(), many=True).data)

    def _review(self, request, action_name: str):
        panorama = self.get_object()
        body = ReviewRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            transition(panorama, action_name, request.user, body.validated_data["comment"])
        except WorkflowError as exc:
            if exc.kind == "forbidden":
                raise PermissionDenied(str(exc)) from exc
            code = (
                status.HTTP_400_BAD_REQUEST if exc.kind == "invalid" else status.HTTP_409_CONFLICT
            )
            return Response({"detail": str(exc)}, status=code)
        panorama.refresh_from_db()
        return Response(PanoramaSerializer(panorama, context={"request": request}).data)

    @extend_schema(request=ReviewRequestSerializer, responses=PanoramaSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._review(request, "submit")

    @extend_schema(request=ReviewRequestSerializer, responses=PanoramaSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._review(request, "approve")

    @extend_schema(request=ReviewRequestSerializer, responses=PanoramaSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._review(request, "reject")

    @extend_schema(request=ReviewRequestSerializer, responses=PanoramaSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        return self._review(request, "reopen")
