"""The actions of ``/api/assets/`` that show derived images to people (mixed into
:class:`inference.views.DerivedAssetViewSet`):

* ``GET /api/assets/images/?panorama=ID`` — the panorama's current assets with their role
  (see :mod:`inference.derived_images`), a display URL for images and tiles for whole
  panoramas; 404 for a panorama the user may not read;
* ``GET /api/assets/ID/display/?width=`` — a display JPEG of an image asset;
* ``GET /api/assets/ID/tiles/COL/ROW/`` — a full-resolution 4096² tile of a whole panorama.
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from annotations.imageformats import ImageFormatError

from . import derived_images
from .serializers import DerivedImageSerializer

MAX_ID_DIGITS = 18
JPEG = OpenApiResponse(OpenApiTypes.BINARY, description="image/jpeg")


def _panorama_param(value: str | None) -> int:
    if value in (None, ""):
        raise ValidationError({"panorama": "name the panorama: ?panorama=ID"})
    if not value.isascii() or not value.isdigit() or len(value) > MAX_ID_DIGITS:
        raise ValidationError({"panorama": "a panorama id (a positive integer)"})
    return int(value)


def _jpeg(data: bytes) -> HttpResponse:
    response = HttpResponse(data, content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=86400"
    return response


class DerivedImageActions:
    """Derived images of a panorama, their display JPEGs and their tiles."""

    @extend_schema(
        parameters=[OpenApiParameter("panorama", int, required=True, description="panorama id")],
        responses=DerivedImageSerializer(many=True),
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="images",
        url_name="images",
        filter_backends=[],
        pagination_class=None,
    )
    def images(self, request):
        """The panorama's current derived assets (newest version of each kind) by role."""
        from annotations.views import get_visible_panorama

        panorama = get_visible_panorama(
            request, _panorama_param(request.query_params.get("panorama"))
        )
        items = derived_images.describe_all(derived_images.current_assets(panorama.pk))
        return Response(DerivedImageSerializer(items, many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("width", int, description="1–16384 (default: full)")],
        responses={(200, "image/jpeg"): JPEG},
    )
    @action(detail=True, methods=["get"], url_path="display", url_name="display")
    def display(self, request, pk=None):
        """A display JPEG of an image asset (HDR tone-mapped), optionally downscaled."""
        from django.core.files.storage import default_storage

        from annotations.views import positive_int

        asset = self.get_object()
        width = positive_int(request.query_params.get("width"), "width")
        try:
            name, data = derived_images.display_jpeg(asset, width)
        except ImageFormatError as exc:
            raise NotFound(str(exc)) from exc
        if data is None:
            with default_storage.open(name, "rb") as handle:
                data = handle.read()
        return _jpeg(data)

    @extend_schema(responses={(200, "image/jpeg"): JPEG})
    @action(
        detail=True,
        methods=["get"],
        url_path=r"tiles/(?P<col>\d{1,4})/(?P<row>\d{1,4})",
        url_name="tile",
    )
    def tile(self, request, pk=None, col=None, row=None):
        """A full-resolution 4096² tile of a whole-panorama asset (grid in ``tiles``)."""
        asset = self.get_object()
        try:
            return _jpeg(derived_images.display_tile(asset, int(col), int(row)))
        except (ImageFormatError, IndexError) as exc:
            raise NotFound(str(exc)) from exc
