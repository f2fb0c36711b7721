"""Views of resumable (chunked) uploads: a session per large file, its chunks, completion."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import BaseParser
from rest_framework.response import Response

from .. import chunked
from ..models import UploadSession
from ..permissions import can_manage, visible_project
from ..serializers import PanoramaSerializer, UploadSessionSerializer
from ..uploads import UploadRejected


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
        project = visible_project(request.user, body.validated_data["project_id"])
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
