"""Radiance for the workspace's exposure control (mounted under /api/reexpose/).

* ``GET /api/reexpose/<panorama>/`` — which radiance the panorama has: ``stored`` (the upload is
  HDR) and/or ``recovered`` (the newest ``hdr_radiance`` asset of the reexpose job), and the
  source the workspace should use (stored first).
* ``GET /api/reexpose/<panorama>/radiance/?source=stored|recovered&width=N`` — that radiance
  resized to ``N`` × ``N/2`` (default 2048, at most 4096), as little-endian float16 RGB rows,
  gzip-encoded (``Content-Encoding: gzip``: the browser inflates it); ``X-Width`` and
  ``X-Height`` give the size. The browser applies exposure and tone mapping itself, so moving
  the slider costs no request. Results are cached in storage.
"""

from __future__ import annotations

import gzip

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import permissions, serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.models import Panorama
from annotations.permissions import visible_projects
from inference.models import DerivedAsset

SOURCES = ("stored", "recovered")
DEFAULT_WIDTH = 2048
MAX_WIDTH = 4096


def _panorama(request, pk: int) -> Panorama:
    try:
        return Panorama.objects.select_related("project").get(
            pk=pk, project__in=visible_projects(request.user)
        )
    except Panorama.DoesNotExist as exc:
        raise NotFound("No such panorama.") from exc


def _recovered(panorama: Panorama) -> DerivedAsset | None:
    return (
        DerivedAsset.objects.filter(panorama=panorama, kind="hdr_radiance")
        .order_by("-version")
        .first()
    )


def _width(value: str | None) -> int:
    if value in (None, ""):
        return DEFAULT_WIDTH
    if not value.isascii() or not value.isdigit() or len(value) > 6:
        raise ValidationError({"width": "an integer number of pixels"})
    width = int(value)
    if not 16 <= width <= MAX_WIDTH:
        raise ValidationError({"width": f"must be in 16..{MAX_WIDTH}"})
    return width - width % 2


def _decode_radiance(data: bytes) -> np.ndarray:
    from annotations.imageformats import decode, read_header

    pixels = decode(data, read_header(data))
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
    return np.ascontiguousarray(pixels[:, :, :3], dtype=np.float32)


def encode_half(radiance: np.ndarray, width: int) -> bytes:
    """Radiance resized to width × width/2, float16 RGB little-endian, gzip-compressed."""
    import cv2

    h, w = radiance.shape[:2]
    if (w, h) != (width, width // 2):
        interpolation = cv2.INTER_AREA if width < w else cv2.INTER_LINEAR
        radiance = cv2.resize(radiance, (width, width // 2), interpolation=interpolation)
    clean = np.nan_to_num(np.clip(radiance, 0.0, 65000.0), nan=0.0)
    return gzip.compress(clean.astype("<f2").tobytes(), compresslevel=5)


class RadianceInfoView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        responses=inline_serializer(
            "RadianceInfo",
            {
                "stored": serializers.BooleanField(),
                "recovered": serializers.IntegerField(allow_null=True),
                "source": serializers.CharField(allow_null=True),
            },
        )
    )
    def get(self, request, panorama: int):
        """Which radiance this panorama has (``recovered`` is the asset id)."""
        pano = _panorama(request, panorama)
        asset = _recovered(pano)
        source = "stored" if pano.is_hdr else ("recovered" if asset else None)
        return Response(
            {
                "stored": bool(pano.is_hdr),
                "recovered": asset.pk if asset else None,
                "source": source,
            }
        )


class RadianceView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("source", str, enum=list(SOURCES)),
            OpenApiParameter("width", int, description=f"16–{MAX_WIDTH} (default {DEFAULT_WIDTH})"),
        ],
        responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY)},
    )
    def get(self, request, panorama: int):
        """The panorama's radiance as gzip-encoded float16 RGB (see the module docstring)."""
        pano = _panorama(request, panorama)
        source = request.query_params.get("source") or ("stored" if pano.is_hdr else "recovered")
        if source not in SOURCES:
            raise ValidationError({"source": f"one of {', '.join(SOURCES)}"})
        width = _width(request.query_params.get("width"))
        if source == "stored":
            if not pano.is_hdr:
                raise NotFound("This panorama was not uploaded as HDR; run 'Recover HDR' first.")
            key, file = f"{pano.sha256}", pano.image
        else:
            asset = _recovered(pano)
            if asset is None:
                raise NotFound("No recovered HDR for this panorama; run 'Recover HDR' first.")
            key, file = f"hdr_radiance_{asset.pk}_v{asset.version}", asset.file
        name = f"derived/{pano.project_id}/{key}/radiance_{width}.f16.gz"
        if default_storage.exists(name):
            with default_storage.open(name, "rb") as handle:
                body = handle.read()
        else:
            try:
                with file.open("rb") as handle:
                    radiance = _decode_radiance(handle.read())
            except (FileNotFoundError, OSError) as exc:
                raise NotFound("The radiance file is missing from storage.") from exc
            body = encode_half(radiance, width)
            default_storage.save(name, ContentFile(body))
        response = HttpResponse(body, content_type="application/octet-stream")
        response["Content-Encoding"] = "gzip"
        response["X-Width"] = str(width)
        response["X-Height"] = str(width // 2)
        response["Access-Control-Expose-Headers"] = "X-Width, X-Height"
        response["Cache-Control"] = "private, max-age=86400"
        return response
