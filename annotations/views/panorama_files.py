"""The image endpoints of a panorama (original file, display JPEG, tiles, thumbnail), as a
mixin of the panorama viewset so that they live under ``/api/panoramas/{id}/``."""

from __future__ import annotations

import mimetypes

from django.http import FileResponse, HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound

from .. import imaging
from .common import positive_int


class PanoramaFilesMixin:
    """``image``, ``display``, ``tiles/{col}/{row}`` and ``thumbnail`` of a panorama."""

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
        width = positive_int(request.query_params.get("width"), "width")
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
