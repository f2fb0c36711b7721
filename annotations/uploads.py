"""Accepting panorama files: validate, detect duplicates, read pose metadata, store atomically.

A failed upload leaves neither a file nor a row behind. Each file in a batch succeeds
or fails on its own.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction

from .imageformats import ImageFormatError, ImageHeader, decode, image_extension, read_header
from .models import Panorama, Project


class UploadRejected(ValueError):
    """The file was refused; ``reason`` says why, ``existing_id`` names a duplicate."""

    def __init__(self, reason: str, existing_id: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.existing_id = existing_id


@dataclass
class CheckedImage:
    header: ImageHeader
    sha256: str
    pose: dict


def check_panorama_bytes(data: bytes) -> CheckedImage:
    """Validate a panorama file's bytes; raises UploadRejected with a clear reason."""
    if not data:
        raise UploadRejected("empty file")
    if len(data) > settings.LABEL360_MAX_UPLOAD_BYTES:
        raise UploadRejected(
            f"file of {len(data)} bytes exceeds the limit of {settings.LABEL360_MAX_UPLOAD_BYTES}"
        )
    try:
        header = read_header(data)
    except ImageFormatError as exc:
        raise UploadRejected(str(exc)) from exc
    max_w, max_h = settings.LABEL360_MAX_PANORAMA_WIDTH, settings.LABEL360_MAX_PANORAMA_HEIGHT
    if header.width > max_w or header.height > max_h:
        raise UploadRejected(
            f"image of {header.width}×{header.height} exceeds the limit of {max_w}×{max_h}"
        )
    if header.width < 8 or header.height < 4:
        raise UploadRejected(f"image of {header.width}×{header.height} is too small")
    if abs(header.width - 2 * header.height) > 1:
        raise UploadRejected(
            f"not an equirectangular panorama: {header.width}×{header.height} is not 2:1 (±1 px)"
        )
    try:
        decode(data, header)
    except ImageFormatError as exc:
        raise UploadRejected(str(exc)) from exc
    return CheckedImage(header, hashlib.sha256(data).hexdigest(), read_pose(data))


_XMP_FIELDS = {
    "heading": "PoseHeadingDegrees",
    "pitch": "PosePitchDegrees",
    "roll": "PoseRollDegrees",
}


def read_pose(data: bytes) -> dict:
    """Camera pose from XMP GPano (attribute or element form), else EXIF GPSImgDirection."""
    pose: dict = {}
    start = data.find(b"<x:xmpmeta")
    if start >= 0:
        xmp = data[start : data.find(b"</x:xmpmeta>", start) + 12].decode("utf-8", "replace")
        for key, tag in _XMP_FIELDS.items():
            match = re.search(
                rf"GPano:{tag}\s*=\s*\"([-+0-9.eE]+)\"|<GPano:{tag}>\s*([-+0-9.eE]+)\s*<", xmp
            )
            if match:
                pose[key] = float(match.group(1) or match.group(2))
    if "heading" not in pose and data[:2] == b"\xff\xd8":
        heading = _exif_heading(data)
        if heading is not None:
            pose["heading"] = heading
    return pose


def _exif_heading(data: bytes) -> float | None:
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            gps = image.getexif().get_ifd(0x8825)
            value = gps.get(17)  # GPSImgDirection
            return float(value) if value is not None else None
    except Exception:  # metadata is optional: a broken EXIF block must not fail the upload
        return None


def store_panorama(project: Project, name: str, data: bytes, user=None) -> Panorama:
    """Validate and store one panorama; all-or-nothing (file and row)."""
    checked = check_panorama_bytes(data)
    existing = Panorama.objects.filter(project=project, sha256=checked.sha256).first()
    if existing:
        raise UploadRejected(
            f"duplicate of panorama {existing.pk} ({existing.original_name})", existing.pk
        )
    header = checked.header
    panorama = Panorama(
        project=project,
        file_format=header.format,
        width=header.width,
        height=header.height,
        channels=header.channels,
        is_hdr=header.is_hdr,
        sha256=checked.sha256,
        original_name=name[:300],
        size_bytes=len(data),
        pose_heading=checked.pose.get("heading"),
        pose_pitch=checked.pose.get("pitch"),
        pose_roll=checked.pose.get("roll"),
        uploaded_by=user if user is not None and user.is_authenticated else None,
    )
    stored_name = None
    try:
        with transaction.atomic():
            panorama.image.save(
                f"{checked.sha256}.{image_extension(header)}", ContentFile(data), save=False
            )
            stored_name = panorama.image.name
            panorama.save()
    except IntegrityError as exc:
        _delete_file(panorama, stored_name)
        existing = Panorama.objects.filter(project=project, sha256=checked.sha256).first()
        raise UploadRejected(
            "duplicate of a panorama uploaded at the same time", existing.pk if existing else None
        ) from exc
    except BaseException:
        _delete_file(panorama, stored_name)
        raise
    _after_upload(panorama)
    return panorama


def _delete_file(panorama: Panorama, stored_name: str | None) -> None:
    if stored_name:
        panorama.image.storage.delete(stored_name)


def _after_upload(panorama: Panorama) -> None:
    """Queue derived assets (thumbnail, display tiles) once the row is committed."""
    from . import signals

    transaction.on_commit(lambda: signals.panorama_uploaded.send(Panorama, panorama=panorama))
