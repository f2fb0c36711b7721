"""REST API views: projects, memberships, classes, panoramas, instances and reviews.

Querysets only ever contain objects of projects the user belongs to, so anything else
answers 404. Writes are checked against the user's project role (permissions.py).
"""

from __future__ import annotations

import mimetypes

from django.db import transaction
from django.db.models import Count, Q
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response

from label360.parsers import StrictFormParser, StrictJSONParser, StrictMultiPartParser

from . import activity, chunked, imaging, masks
from .assignment import AssignmentError, assign, resolve_users, targets
from .dashboard import project_dashboard
from .models import (
    Instance,
    LabelClass,
    Membership,
    Panorama,
    PanoramaStatus,
    Project,
    UploadSession,
)
from .permissions import (
    ProjectRolePermission,
    can_manage,
    can_review,
    is_admin,
    may_annotate,
    require_annotation_write,
    role_of,
    visible_projects,
)
from .serializers import (
    ActiveTimeSerializer,
    AssignSerializer,
    BulkSaveSerializer,
    InstanceSerializer,
    LabelClassSerializer,
    MembershipSerializer,
    PanoramaSerializer,
    PanoramaUploadSerializer,
    PatchSaveSerializer,
    ProjectSerializer,
    ReviewEventSerializer,
    ReviewRequestSerializer,
    UploadSessionSerializer,
    UserSerializer,
)
from .services import (
    BulkValidationError,
    PatchValidationError,
    RevisionConflict,
    patch_instances,
    replace_instances,
    write_annotations,
)
from .uploads import UploadRejected, store_panorama
from .workflow import WorkflowError, transition


def conflict_response(exc: RevisionConflict) -> Response:
    return Response(
        {
            "detail": "Someone else changed this panorama's annotations; reload and re-apply.",
            "code": "revision_conflict",
            "current_revision": exc.current,
        },
        status=status.HTTP_409_CONFLICT,
        headers={"ETag": f'"{exc.current}"'},
    )


def base_revision(request: Request) -> int | None:
    """The revision a write was based on: If-Match header, else a 'revision' field."""
    header = request.headers.get("If-Match")
    if header:
        try:
            return int(header.strip().strip("W/").strip('"'))
        except ValueError as exc:
            raise ValidationError({"If-Match": "must be the panorama revision number"}) from exc
    value = request.data.get("revision") if hasattr(request.data, "get") else None
    if value is None:
        value = request.query_params.get("revision")
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"revision": "must be an integer"}) from exc


def require_revision(request: Request) -> int:
    revision = base_revision(request)
    if revision is None:
        raise ValidationError(
            {"revision": "send the panorama revision this write is based on (If-Match or field)"}
        )
    return revision


class ProjectScopedViewSet(viewsets.ModelViewSet):
    """Base for objects that belong to a project (via ``project_path``)."""

    permission_classes = [ProjectRolePermission]
    project_path = "project"

    def project_id_of(self, obj) -> int:
        target = obj
        for part in self.project_path.split("__"):
            target = getattr(target, part)
        return target.pk

    def scoped(self, queryset):
        user = self.request.user
        if is_admin(user):
            return queryset
        return queryset.filter(**{f"{self.project_path}__memberships__user": user})

    def check_create(self, project: Project) -> None:
        if role_of(self.request.user, project) is None:
            raise NotFound("No such project.")
        if not can_manage(self.request.user, project):
            raise PermissionDenied("Only the project's managers can do this.")


def may_create_projects(user) -> bool:
    """Admins, and users given the "Can add project" permission (e.g. project leads)."""
    return is_admin(user) or bool(user and user.has_perm("annotations.add_project"))


class ProjectViewSet(viewsets.ModelViewSet):
    """Projects the user belongs to. Admins (and holders of the "add project" permission)
    create projects, with a class list pasted or copied from another project; managers
    edit and archive them; admins delete them (the deletion summary says what goes)."""

    serializer_class = ProjectSerializer
    permission_classes = [ProjectRolePermission]
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at"]

    def project_id_of(self, obj: Project) -> int:
        return obj.pk

    def write_check(self, request, project: Project) -> bool:
        return can_manage(request.user, project)

    def get_queryset(self):
        queryset = visible_projects(self.request.user)
        if self.action == "list":
            archived = self.request.query_params.get("archived", "")
            if archived in {"1", "true", "only"}:
                queryset = queryset.filter(archived_at__isnull=False)
            elif archived != "all":
                queryset = queryset.filter(archived_at__isnull=True)
        return queryset.annotate(panorama_count=Count("panoramas", distinct=True)).order_by(
            "name", "id"
        )

    def create(self, request, *args, **kwargs):
        from .projects import create_project

        if not may_create_projects(request.user):
            raise PermissionDenied("Only administrators create projects.")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        source = None
        source_id = serializer.validated_data.get("copy_classes_from")
        if source_id:
            source = visible_projects(request.user).filter(pk=source_id).first()
            if source is None:
                raise ValidationError({"copy_classes_from": "no such project"})
        project = create_project(request.user, serializer.validated_data, source)
        project.panorama_count = 0
        return Response(self.get_serializer(project).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, *args, **kwargs):
        project = self.get_object()
        if not is_admin(request.user):
            raise PermissionDenied("Only administrators delete projects.")
        project.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _set_archived(self, request, archived: bool) -> Response:
        from django.utils import timezone

        project = self.get_object()
        if not can_manage(request.user, project):
            raise PermissionDenied("Only the project's managers can do this.")
        Project.objects.filter(pk=project.pk).update(
            archived_at=timezone.now() if archived else None
        )
        project = (
            self.get_queryset()
            .model.objects.annotate(panorama_count=Count("panoramas", distinct=True))
            .get(pk=project.pk)
        )
        return Response(self.get_serializer(project).data)

    @extend_schema(request=None, responses=ProjectSerializer)
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        """Hide the project from the default list (``?archived=1`` lists archived ones)."""
        return self._set_archived(request, True)

    @extend_schema(request=None, responses=ProjectSerializer)
    @action(detail=True, methods=["post"])
    def unarchive(self, request, pk=None):
        return self._set_archived(request, False)

    @action(detail=True, methods=["get"], url_path="deletion-summary")
    def deletion_summary(self, request, pk=None):
        """What deleting the project would delete: rows per kind and the image bytes."""
        from .projects import deletion_summary

        project = self.get_object()
        if not can_manage(request.user, project):
            raise PermissionDenied("Only the project's managers can see this.")
        return Response(deletion_summary(project))

    @extend_schema(parameters=[OpenApiParameter("days", int)])
    @action(detail=True, methods=["get"])
    def dashboard(self, request, pk=None):
        """Progress: panoramas by status, per-annotator work and active time, classes."""
        project = self.get_object()
        if not can_review(request.user, project):
            raise PermissionDenied("Only managers and reviewers see the dashboard.")
        days = _positive_int(request.query_params.get("days"), "days") or 30
        return Response(project_dashboard(project, min(days, 366)))


class UserViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Find existing users to add to a project (managers and admins; 20 matches at most)."""

    serializer_class = UserSerializer
    pagination_class = None

    def get_queryset(self):
        from django.contrib.auth import get_user_model

        user = self.request.user
        if not (is_admin(user) or Membership.objects.filter(user=user, role="manager").exists()):
            raise PermissionDenied("Only managers look up users.")
        term = self.request.query_params.get("search", "").strip()[:150]
        queryset = get_user_model().objects.filter(is_active=True).order_by("username")
        if term:
            queryset = queryset.filter(
                Q(username__icontains=term)
                | Q(first_name__icontains=term)
                | Q(last_name__icontains=term)
            )
        return queryset[:20]


class MembershipViewSet(ProjectScopedViewSet):
    serializer_class = MembershipSerializer
    filterset_fields = ["project", "role"]

    def get_queryset(self):
        return self.scoped(Membership.objects.select_related("user", "project"))

    def perform_create(self, serializer):
        self.check_create(serializer.validated_data["project"])
        serializer.save()

    def perform_update(self, serializer):
        if "project" in serializer.validated_data:
            if serializer.validated_data["project"] != serializer.instance.project:
                raise ValidationError({"project": "a membership cannot change project"})
        serializer.save()


class LabelClassViewSet(ProjectScopedViewSet):
    serializer_class = LabelClassSerializer
    filterset_fields = ["project"]
    pagination_class = None

    def get_queryset(self):
        # aggregated querysets drop Meta.ordering: order explicitly
        return (
            self.scoped(LabelClass.objects.all())
            .annotate(instance_count=Count("instances"))
            .order_by("project", "order", "name", "id")
        )

    def perform_create(self, serializer):
        self.check_create(serializer.validated_data["project"])
        serializer.save()

    @action(detail=False, methods=["post"])
    def reorder(self, request):
        """Body {project, order: [class ids]}: every class of the project, in the new order."""
        project = visible_projects(request.user).filter(pk=request.data.get("project")).first()
        if project is None:
            raise NotFound("No such project.")
        self.check_create(project)
        order = request.data.get("order")
        if (
            not isinstance(order, list)
            or len(order) > 10_000
            or not all(isinstance(pk, int) and not isinstance(pk, bool) for pk in order)
        ):
            raise ValidationError({"order": "a list of class ids"})
        ids = set(LabelClass.objects.filter(project=project).values_list("pk", flat=True))
        if len(order) != len(ids) or set(order) != ids:
            raise ValidationError({"order": "list every class of the project exactly once"})
        with transaction.atomic():
            for position, pk in enumerate(order):
                LabelClass.objects.filter(pk=pk).update(order=position)
        return Response(
            LabelClassSerializer(self.get_queryset().filter(project=project), many=True).data
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("cascade", bool, description="also delete the class's instances")
        ]
    )
    def destroy(self, request, *args, **kwargs):
        label_class = self.get_object()
        used = Instance.objects.filter(label_class=label_class)
        count = used.count()
        if count and request.query_params.get("cascade") not in {"1", "true", "yes"}:
            return Response(
                {
                    "detail": f"{count} instances use this class; repeat with ?cascade=true "
                    "to delete them too.",
                    "code": "class_in_use",
                    "instance_count": count,
                },
                status=status.HTTP_409_CONFLICT,
            )
        approved = Panorama.objects.filter(
            instances__label_class=label_class, status=PanoramaStatus.APPROVED
        ).distinct()
        if approved.exists():
            return Response(
                {
                    "detail": f"{approved.count()} approved panoramas use this class; their "
                    "annotations are read-only until a manager reopens them.",
                    "code": "annotations_locked",
                    "panoramas": list(approved.values_list("pk", flat=True)[:100]),
                },
                status=status.HTTP_409_CONFLICT,
            )
        with transaction.atomic():
            panorama_ids = list(used.values_list("panorama_id", flat=True).distinct())
            used.delete()
            for panorama in Panorama.objects.filter(pk__in=panorama_ids):
                panorama.bump_revision()
            label_class.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class PanoramaFilter(filters.FilterSet):
    assignee = filters.CharFilter(field_name="assignees__username")
    unassigned = filters.BooleanFilter(field_name="assignees", lookup_expr="isnull")

    class Meta:
        model = Panorama
        fields = ["project", "status", "assignee", "is_hdr", "unassigned"]


class PanoramaViewSet(ProjectScopedViewSet):
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
        project = visible_projects(request.user).filter(pk=project_id).first()
        if project is None:
            raise NotFound("No such project.")
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
        project = visible_projects(request.user).filter(pk=data["project"]).first()
        if project is None:
            raise NotFound("No such project.")
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

    def _file_response(self, name: str, data: bytes | None, storage, content_type: str):
        if data is not None:
            return HttpResponse(data, content_type=content_type)
        return FileResponse(storage.open(name, "rb"), content_type=content_type)

    @action(detail=True, methods=["get"])
    def image(self, request, pk=None):
        """The original file as uploaded (HDR/EXR radiance untouched)."""
        panorama = self.get_object()
        content_type = mimetypes.guess_type(panorama.image.name)[0] or "application/octet-stream"
        response = FileResponse(panorama.image.open("rb"), content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{panorama.original_name}"'
        return response

    @extend_schema(parameters=[OpenApiParameter("width", int)])
    @action(detail=True, methods=["get"])
    def display(self, request, pk=None):
        """An 8-bit JPEG for the browser (HDR tone-mapped), optionally downscaled."""
        from django.core.files.storage import default_storage

        panorama = self.get_object()
        width = _positive_int(request.query_params.get("width"), "width")
        name, data = imaging.display_image(panorama, width)
        response = self._file_response(name, data, default_storage, "image/jpeg")
        response["Cache-Control"] = "private, max-age=86400"
        return response

    @action(detail=True, methods=["get"], url_path=r"tiles/(?P<col>\d+)/(?P<row>\d+)")
    def tile(self, request, pk=None, col=None, row=None):
        """Full-resolution display tile (4096² JPEG); the grid is in ``tiles`` of the detail."""
        panorama = self.get_object()
        try:
            data = imaging.display_tile(panorama, int(col), int(row))
        except IndexError as exc:
            raise NotFound(str(exc)) from exc
        response = HttpResponse(data, content_type="image/jpeg")
        response["Cache-Control"] = "private, max-age=86400"
        return response

    @action(detail=True, methods=["get"])
    def thumbnail(self, request, pk=None):
        from django.core.files.storage import default_storage

        panorama = self.get_object()
        name, data = imaging.thumbnail(panorama)
        response = self._file_response(name, data, default_storage, "image/jpeg")
        response["Cache-Control"] = "private, max-age=86400"
        return response

    @extend_schema(
        methods=["PUT"], request=BulkSaveSerializer, responses=InstanceSerializer(many=True)
    )
    @extend_schema(
        methods=["PATCH"], request=PatchSaveSerializer, responses=InstanceSerializer(many=True)
    )
    @extend_schema(methods=["GET"], responses=InstanceSerializer(many=True))
    @action(detail=True, methods=["get", "put", "patch"], url_path="instances")
    def instances(self, request, pk=None):
        """GET the panorama's instances; PUT replaces the whole set atomically (bulk save);
        PATCH changes part of it (what autosave sends).

        PUT body: {"revision": n, "instances": [{id?, label_class, geometry, ...}, ...]}.
        PATCH body: {"revision": n, "upsert": [{id?, ...}, ...], "delete": [ids]}: items
        with an id are updated, items without one created (on top of the drawing order),
        the ids in ``delete`` deleted; nothing else is touched. Both take the revision as
        If-Match instead if preferred. A stale revision answers 409 with the current one;
        any invalid instance answers 400 naming it, and nothing is written.
        """
        panorama = self.get_object()
        if request.method == "PATCH":
            return self._patch_instances(request, panorama)
        if request.method == "GET":
            queryset = Instance.objects.filter(panorama=panorama).select_related("label_class")
            data = InstanceSerializer(queryset, many=True).data
            return Response(
                {"revision": panorama.revision, "instances": data},
                headers={"ETag": f'"{panorama.revision}"'},
            )
        require_annotation_write(request.user, panorama)
        payload = BulkSaveSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        revision = base_revision(request)
        try:
            saved, new_revision = write_annotations(
                panorama,
                revision,
                lambda locked: replace_instances(
                    locked, payload.validated_data["instances"], request.user
                ),
                user=request.user,
            )
        except RevisionConflict as exc:
            return conflict_response(exc)
        except BulkValidationError as exc:
            return Response(
                {
                    "detail": "Invalid instances; nothing was saved.",
                    "instances": {str(k): v for k, v in exc.errors.items()},
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(
            {"revision": new_revision, "instances": InstanceSerializer(saved, many=True).data},
            headers={"ETag": f'"{new_revision}"'},
        )

    def _patch_instances(self, request, panorama: Panorama) -> Response:
        require_annotation_write(request.user, panorama)
        payload = PatchSaveSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        upserts = payload.validated_data.get("upsert", [])
        delete = payload.validated_data.get("delete", [])
        try:
            (saved, deleted), new_revision = write_annotations(
                panorama,
                require_revision(request),
                lambda locked: patch_instances(locked, upserts, delete, request.user),
                user=request.user,
            )
        except RevisionConflict as exc:
            return conflict_response(exc)
        except PatchValidationError as exc:
            return Response(
                {
                    "detail": "Invalid changes; nothing was saved.",
                    "upsert": {str(k): v for k, v in exc.upsert.items()},
                    "delete": exc.delete,
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(
            {
                "revision": new_revision,
                "instances": InstanceSerializer(saved, many=True).data,
                "deleted": deleted,
            },
            headers={"ETag": f'"{new_revision}"'},
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("width", int, description="mask width (height = width/2)"),
            OpenApiParameter("by", str, enum=["instance", "class"]),
        ],
        responses={(200, "image/png"): bytes},
    )
    @action(detail=True, methods=["get"])
    def labels(self, request, pk=None):
        """16-bit PNG label map on the equirectangular grid.

        The legend (label value → instance or class id) is at ``labels/legend/``: a legend of
        thousands of instances does not fit in a header that proxies accept. The response
        names it in ``X-Label-Legend-URL`` (pinned to ``X-Label-Revision``, the revision the
        map was drawn from, so a stale pair answers 409 instead of a wrong legend).
        """
        from urllib.parse import urlencode

        panorama = self.get_object()  # read before the instances: see label_legend
        width = _positive_int(request.query_params.get("width"), "width") or panorama.width
        by = _label_map_by(request)
        data, _ = masks.label_map_png(panorama, width - width % 2, by)
        response = HttpResponse(data, content_type="image/png")
        query = urlencode({"by": by, "revision": panorama.revision})
        response["X-Label-Legend-URL"] = f"/api/panoramas/{panorama.pk}/labels/legend/?{query}"
        response["X-Label-Revision"] = str(panorama.revision)
        return response

    @extend_schema(
        parameters=[
            OpenApiParameter("by", str, enum=["instance", "class"]),
            OpenApiParameter(
                "revision", int, description="answer 409 unless the panorama is at this revision"
            ),
        ],
        responses={200: dict},
    )
    @action(detail=True, methods=["get"], url_path="labels/legend")
    def label_legend(self, request, pk=None):
        """The legend of ``labels/``: ``{panorama, by, revision, legend: {value: id}}``.

        With ``revision`` (as named by the label map's ``X-Label-Legend-URL``), a panorama
        changed since answers 409 with ``current_revision``. The revision is read again after
        the legend: writes bump it in the same transaction as the instances they change, so an
        unchanged revision means the legend is the one of that revision.
        """
        panorama = self.get_object()
        by = _label_map_by(request)
        wanted = base_revision(request)
        legend = masks.label_legend(panorama, by)
        current = Panorama.objects.values_list("revision", flat=True).get(pk=panorama.pk)
        if wanted is not None and (wanted != current or panorama.revision != current):
            return conflict_response(RevisionConflict(current))
        return Response(
            {
                "panorama": panorama.pk,
                "by": by,
                "revision": current,
                "legend": {str(value): ident for value, ident in legend.items()},
            },
            headers={"ETag": f'"{current}"'},
        )

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


def _label_map_by(request: Request) -> str:
    by = request.query_params.get("by", "instance")
    if by not in {"instance", "class"}:
        raise ValidationError({"by": "instance or class"})
    return by


def _positive_int(value: str | None, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except ValueError as exc:
        raise ValidationError({name: "must be a positive integer"}) from exc
    if number <= 0 or number > 16384:
        raise ValidationError({name: "must be between 1 and 16384"})
    return number


class InstanceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Single instances. Every write carries the panorama revision (If-Match or field)."""

    serializer_class = InstanceSerializer
    permission_classes = [ProjectRolePermission]
    filterset_fields = ["panorama", "label_class", "source", "is_suggestion"]
    project_path = "panorama__project"

    def project_id_of(self, obj: Instance) -> int:
        return obj.panorama.project_id

    def write_check(self, request, obj: Instance) -> bool:
        return may_annotate(request.user, obj.panorama)  # the state is checked by the write

    def get_queryset(self):
        queryset = Instance.objects.select_related("panorama", "label_class")
        if is_admin(self.request.user):
            return queryset
        return queryset.filter(panorama__project__memberships__user=self.request.user)

    @extend_schema(parameters=[OpenApiParameter("width", int)])
    @action(detail=True, methods=["get"])
    def mask(self, request, pk=None):
        """8-bit PNG mask of the instance on the equirectangular grid (exact rasterisation)."""
        instance = self.get_object()
        width = _positive_int(request.query_params.get("width"), "width")
        width = width or instance.panorama.width
        return HttpResponse(
            masks.instance_mask_png(instance, width - width % 2), content_type="image/png"
        )

    def _respond(self, instance: Instance | None, revision: int, code: int) -> Response:
        body = InstanceSerializer(instance).data if instance is not None else {}
        body = {**body, "revision": revision}
        return Response(body, status=code, headers={"ETag": f'"{revision}"'})

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        panorama = serializer.validated_data["panorama"]
        if role_of(request.user, panorama.project_id) is None:
            raise NotFound("No such panorama.")
        require_annotation_write(request.user, panorama)
        revision = require_revision(request)
        try:
            instance, new_revision = write_annotations(
                panorama,
                revision,
                lambda locked: serializer.save(created_by=request.user, updated_by=request.user),
                user=request.user,
            )
        except RevisionConflict as exc:
            return conflict_response(exc)
        return self._respond(instance, new_revision, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        instance = self.get_object()
        require_annotation_write(request.user, instance.panorama)
        serializer = self.get_serializer(instance, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        revision = require_revision(request)
        try:
            saved, new_revision = write_annotations(
                instance.panorama,
                revision,
                lambda locked: serializer.save(updated_by=request.user),
                user=request.user,
            )
        except RevisionConflict as exc:
            return conflict_response(exc)
        return self._respond(saved, new_revision, status.HTTP_200_OK)

    def destroy(self, request, *args, **kwargs):
        instance = self.get_object()
        require_annotation_write(request.user, instance.panorama)
        revision = require_revision(request)
        try:
            _, new_revision = write_annotations(
                instance.panorama, revision, lambda locked: instance.delete(), user=request.user
            )
        except RevisionConflict as exc:
            return conflict_response(exc)
        return Response(
            {"revision": new_revision},
            status=status.HTTP_200_OK,
            headers={"ETag": f'"{new_revision}"'},
        )


class ChunkParser(BaseParser):
    """A raw chunk of a resumable upload, read up to one byte past the limit (bounded)."""

    media_type = "application/octet-stream"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        if stream is None:
            return b""
        return stream.read(chunked.MAX_CHUNK_BYTES + 1)


class UploadSessionViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Resumable uploads: POST {project, filename, size} → id; PUT chunk/?offset=N with the
    raw bytes (application/octet-stream, ≤ 8 MiB); GET tells the bytes received (to resume);
    POST complete/ stores the panorama or answers the refusal reason; DELETE cancels."""

    serializer_class = UploadSessionSerializer

    def get_queryset(self):
        return UploadSession.objects.filter(user=self.request.user)

    def create(self, request, *args, **kwargs):
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        project = (
            visible_projects(request.user).filter(pk=body.validated_data["project_id"]).first()
        )
        if project is None:
            raise NotFound("No such project.")
        if not can_manage(request.user, project):
            raise PermissionDenied("Only the project's managers can do this.")
        try:
            session = chunked.start(
                project, request.user, body.validated_data["filename"], body.validated_data["size"]
            )
        except chunked.ChunkError as exc:
            return Response({"detail": exc.message}, status=exc.status)
        return Response(self.get_serializer(session).data, status=status.HTTP_201_CREATED)

    @extend_schema(request={"application/octet-stream": bytes})
    @action(detail=True, methods=["put"], parser_classes=[ChunkParser])
    def chunk(self, request, pk=None):
        session = self.get_object()
        try:
            offset = int(request.query_params.get("offset", ""))
        except ValueError as exc:
            raise ValidationError({"offset": "give the chunk's byte offset"}) from exc
        data = request.data if isinstance(request.data, bytes) else b""
        try:
            session = chunked.append(session, offset, data)
        except chunked.ChunkError as exc:
            return Response({"detail": exc.message, "received": exc.received}, status=exc.status)
        return Response(self.get_serializer(session).data)

    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        session = self.get_object()
        try:
            panorama = chunked.complete(session)
        except chunked.ChunkError as exc:
            return Response({"detail": exc.message, "received": exc.received}, status=exc.status)
        except UploadRejected as exc:
            return Response(
                {"file": session.filename, "error": exc.reason, "existing_id": exc.existing_id},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(
            {"panorama": PanoramaSerializer(panorama, context={"request": request}).data},
            status=status.HTTP_201_CREATED,
        )

    def destroy(self, request, *args, **kwargs):
        chunked.abort(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


def get_visible_panorama(request, pk: int) -> Panorama:
    """A panorama the user may read, or 404 (used by other apps' views)."""
    panorama = get_object_or_404(Panorama.objects.select_related("project"), pk=pk)
    if role_of(request.user, panorama.project_id) is None:
        raise NotFound("No such panorama.")
    return panorama


def can_review_panorama(request, panorama: Panorama) -> bool:
    return can_review(request.user, panorama.project_id)
