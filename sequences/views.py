"""Sequences API: list/read the sequences of visible projects, create one from a video
upload or from ordered panoramas (managers), list its frames."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from annotations.permissions import can_manage, visible_project, visible_projects

from .models import Sequence
from .serializers import SequenceCreateSerializer, SequenceFrameSerializer, SequenceSerializer
from .services import create_from_panoramas, create_from_video
from .video import VideoError


class SequenceViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):  # fmt: skip
    serializer_class = SequenceSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    filterset_fields = ["project", "source", "status"]

    def get_queryset(self):
        return Sequence.objects.filter(project__in=visible_projects(self.request.user)).order_by(
            "id"
        )

    @extend_schema(request=SequenceCreateSerializer, responses=SequenceSerializer)
    def create(self, request, *args, **kwargs):
        data = SequenceCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        project = visible_project(request.user, values["project"])
        if not can_manage(request.user, project):
            raise PermissionDenied("Only the project's managers add sequences.")
        upload = values.get("file")
        name = values.get("name") or (upload.name if upload else "sequence")
        if upload is not None:
            try:
                sequence = create_from_video(
                    project, name, upload, values.get("sample_fps") or 1.0, request.user
                )
            except VideoError as exc:
                raise ValidationError({"file": [str(exc)]}) from exc
        else:
            try:
                sequence = create_from_panoramas(
                    project, name, values["panoramas"], values["fps"], request.user
                )
            except ValueError as exc:
                raise ValidationError({"panoramas": [str(exc)]}) from exc
        return Response(SequenceSerializer(sequence).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        if not can_manage(self.request.user, instance.project):
            raise PermissionDenied("Only the project's managers delete sequences.")
        instance.delete()

    @action(detail=True, methods=["get"])
    def frames(self, request, pk=None):
        """The frames in order (panorama id, index, timestamp)."""
        sequence = self.get_object()
        return Response(SequenceFrameSerializer(sequence.frames.all(), many=True).data)
