"""Views of projects and who works on them: projects (create, archive, delete, dashboard),
the user lookup, memberships and label classes."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, Q
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from ..dashboard import project_dashboard
from ..models import Instance, LabelClass, Membership, Panorama, PanoramaStatus, Project
from ..permissions import (
    ProjectRolePermission,
    can_manage,
    can_review,
    is_admin,
    visible_project,
    visible_projects,
)
from ..serializers import (
    LabelClassSerializer,
    MembershipSerializer,
    ProjectSerializer,
    UserSerializer,
)
from .common import ProjectScopedViewSet, positive_int


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
        from ..projects import create_project

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
        from ..projects import deletion_summary

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
        days = positive_int(request.query_params.get("days"), "days") or 30
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
        project = visible_project(request.user, request.data.get("project"))
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
