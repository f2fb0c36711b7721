"""REST API: exports (request, status, download), imports, agreement rounds and reports."""

from __future__ import annotations

from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotAcceptable, PermissionDenied, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings

from annotations.models import Panorama
from annotations.permissions import can_manage, role_of, visible_projects
from label360.parsers import StrictFormParser, StrictJSONParser, StrictMultiPartParser

from .agreement import report_csv, round_report
from .imports import ImportRequestError, request_import, sync_with_job
from .models import AgreementRound, AnnotationReplica, Export, Import, ImportStatus
from .permissions import member_project
from .ranges import ranged_file_response
from .renderers import AgreementCSVRenderer
from .selection import ExportOptions, OptionsError, check_feasible
from .serializers import (
    AgreementRoundSerializer,
    ExportRequestSerializer,
    ExportSerializer,
    ImportRequestSerializer,
    ImportSerializer,
    ReplicaSerializer,
)
from .services import request_export


class AnyContent(DefaultContentNegotiation):
    """Downloads answer with a file whatever the client accepts (``application/zip``,
    ``*/*``); only an error body needs a renderer, and gets the first (JSON)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            return renderers[0], renderers[0].media_type


class ExportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Exports of the projects you belong to. Any member (viewers too) may export."""

    serializer_class = ExportSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        qs = Export.objects.filter(project__in=visible_projects(self.request.user))
        project = self.request.query_params.get("project")
        if project:
            qs = qs.filter(project_id=project)
        return qs

    @extend_schema(
        request=ExportRequestSerializer, responses={200: ExportSerializer, 202: ExportSerializer}
    )
    def create(self, request):
        """Request an export: 200 with a ready cached export, else 202 (a job runs it)."""
        body = ExportRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        project = member_project(request.user, body.validated_data["project"])
        try:
            options = ExportOptions.from_dict(body.validated_data)
            check_feasible(project, options)
        except OptionsError as exc:
            raise ValidationError({"options": str(exc)}) from exc
        export, cached = request_export(project, request.user, options)
        export.refresh_from_db()
        data = {**ExportSerializer(export).data, "cached": cached}
        ready = export.status == "ready"
        return Response(data, status=status.HTTP_200_OK if ready else status.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["get"], content_negotiation_class=AnyContent)
    def download(self, request, pk=None):
        """The export zip; HTTP Range requests resume it (206, several ranges, 416)."""
        export = self.get_object()
        if export.status != "ready" or not export.file:
            return Response(
                {"detail": f"the export is {export.status}", "status": export.status},
                status=status.HTTP_409_CONFLICT,
            )
        name = f"{export.project.name}-{export.format}-{export.pk}.zip".replace(" ", "_")
        size = export.size_bytes or export.file.size
        return ranged_file_response(
            request,
            lambda: export.file.open("rb"),
            size,
            name,
            "application/zip",
            etag=f"{export.digest[:32]}-{export.pk}-{size}",
            modified=export.finished_at,
        )


class ImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Dataset imports (managers): each runs as a background job; the row has its status,
    progress (through the job) and a bounded report; the full report is a file."""

    serializer_class = ImportSerializer
    permission_classes = [IsAuthenticated]
    parser_classes = [StrictMultiPartParser, StrictFormParser, StrictJSONParser]

    def get_queryset(self):
        qs = Import.objects.filter(project__in=visible_projects(self.request.user))
        project = self.request.query_params.get("project")
        if project and project.isdigit():
            qs = qs.filter(project_id=int(project))
        return qs

    def retrieve(self, request, pk=None):
        return Response(ImportSerializer(sync_with_job(self.get_object())).data)

    @extend_schema(request=ImportRequestSerializer, responses=ImportSerializer)
    def create(self, request):
        """Queue an import: 202 (the job runs it); inline mode: 200 done / 400 failed."""
        body = ImportRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        project = member_project(request.user, data["project"])
        if not can_manage(request.user, project):
            raise PermissionDenied("Only project managers may import.")
        options = {k: data[k] for k in ("replace", "strict", "create_classes")}
        try:
            row = request_import(project, request.user, data["file"], data["format"], options)
        except ImportRequestError as exc:
            return Response({"detail": str(exc)}, status=exc.status)
        row.refresh_from_db()
        code = status.HTTP_202_ACCEPTED
        if row.status == ImportStatus.DONE:
            code = status.HTTP_200_OK
        elif row.status == ImportStatus.FAILED:
            code = status.HTTP_400_BAD_REQUEST
        return Response(ImportSerializer(row).data, status=code)

    @action(detail=True, methods=["get"])
    def report(self, request, pk=None):
        """The full report (every skipped item and warning) as a JSON file."""
        row = self.get_object()
        if not row.report_file:
            return Response(
                {"detail": f"the import is {row.status}: no report yet"},
                status=status.HTTP_409_CONFLICT,
            )
        return FileResponse(
            row.report_file.open("rb"),
            as_attachment=True,
            filename=f"import-{row.pk}-report.json",
            content_type="application/json",
        )

    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a queued or running import (managers); nothing of it is written."""
        row = self.get_object()
        if not can_manage(request.user, row.project):
            raise PermissionDenied("Only project managers may cancel imports.")
        if row.status not in (ImportStatus.PENDING, ImportStatus.RUNNING) or not row.job_id:
            return Response(
                {"detail": f"a {row.status} import cannot be cancelled"},
                status=status.HTTP_409_CONFLICT,
            )
        from inference.models import Job
        from inference.services import JobStateError, cancel_job

        try:
            job = cancel_job(Job.objects.get(pk=row.job_id))
        except (Job.DoesNotExist, JobStateError) as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        if job.status == "cancelled":
            Import.objects.filter(pk=row.pk, status__in=["pending", "running"]).update(
                status=ImportStatus.CANCELLED, error="cancelled: nothing was imported"
            )
        row.refresh_from_db()
        return Response(ImportSerializer(row).data)


class AgreementRoundViewSet(viewsets.ModelViewSet):
    """Agreement rounds: managers create/edit; members read; report as JSON or CSV."""

    serializer_class = AgreementRoundSerializer
    permission_classes = [IsAuthenticated]
    filterset_fields = ["project"]

    def get_queryset(self):
        return AgreementRound.objects.filter(
            project__in=visible_projects(self.request.user)
        ).prefetch_related("panoramas", "annotators")

    def perform_create(self, serializer):
        project = member_project(self.request.user, serializer.validated_data["project"].pk)
        if not can_manage(self.request.user, project):
            raise PermissionDenied("Only project managers may create agreement rounds.")
        serializer.save(created_by=self.request.user)

    def perform_update(self, serializer):
        if not can_manage(self.request.user, serializer.instance.project):
            raise PermissionDenied("Only project managers may edit agreement rounds.")
        serializer.save()

    def perform_destroy(self, instance):
        if not can_manage(self.request.user, instance.project):
            raise PermissionDenied("Only project managers may delete agreement rounds.")
        instance.delete()

    @action(
        detail=True,
        methods=["get"],
        renderer_classes=[*api_settings.DEFAULT_RENDERER_CLASSES, AgreementCSVRenderer],
    )
    def report(self, request, pk=None, format=None):
        """?reference=main|none (default main); CSV with ?format=csv, a .csv suffix,
        Accept: text/csv, or ?as=csv. Only submitted replicas count."""
        round_ = self.get_object()
        reference = request.query_params.get("reference", "main")
        if reference not in ("main", "none"):
            raise ValidationError({"reference": "must be 'main' or 'none'"})
        report = round_report(round_, None if reference == "none" else "main")
        as_csv = request.query_params.get("as") == "csv"
        if as_csv or request.accepted_renderer.format == "csv":
            response = HttpResponse(report_csv(report), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="agreement-{round_.pk}.csv"'
            return response
        return Response(report)

    @action(detail=True, methods=["get"])
    def replicas(self, request, pk=None):
        """Managers/reviewers see every replica; annotators only their own."""
        round_ = self.get_object()
        qs = round_.replicas.all()
        if role_of(request.user, round_.project) not in ("admin", "manager", "reviewer"):
            qs = qs.filter(annotator=request.user)
        return Response(ReplicaSerializer(qs, many=True).data)

    @action(detail=True, methods=["get", "put"], url_path=r"panoramas/(?P<panorama_id>\d+)/replica")
    def replica(self, request, pk=None, panorama_id=None):
        """GET/PUT your own replica of one panorama ({instances, submitted, base_revision})."""
        round_ = self.get_object()
        if not round_.annotators.filter(pk=request.user.pk).exists():
            raise PermissionDenied("You are not an annotator of this round.")
        pano = get_object_or_404(Panorama, pk=panorama_id, agreement_rounds=round_)
        replica, _ = AnnotationReplica.objects.get_or_create(
            round=round_, panorama=pano, annotator=request.user
        )
        if request.method == "GET":
            return Response(ReplicaSerializer(replica).data)
        body = ReplicaSerializer(replica, data=request.data)
        body.is_valid(raise_exception=True)
        base = body.validated_data.pop("base_revision", None)
        classes = set(round_.project.classes.values_list("id", flat=True))
        if any(i["label_class"] not in classes for i in body.validated_data["instances"]):
            raise ValidationError({"instances": "every label_class must be a class of the project"})
        updated = AnnotationReplica.objects.filter(
            pk=replica.pk, **({"revision": base} if base is not None else {})
        ).update(
            instances=body.validated_data["instances"],
            submitted=body.validated_data.get("submitted", replica.submitted),
            revision=replica.revision + 1,
        )
        if not updated:
            replica.refresh_from_db()
            return Response(
                {"detail": "revision conflict", "current_revision": replica.revision},
                status=status.HTTP_409_CONFLICT,
            )
        replica.refresh_from_db()
        return Response(ReplicaSerializer(replica).data)


__all__ = ["ExportViewSet", "ImportViewSet", "AgreementRoundViewSet"]
