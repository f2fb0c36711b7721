"""Derived images for people: which of a panorama's derived assets can be looked at, and
display JPEGs and tiles of them.

Every current asset (the newest version of each kind) gets a *role*:

* ``panorama`` — a whole panorama in the panorama's own frame (cleaned, sky replaced, colour
  matched, anonymised, …): the workspace can show it instead of the original, with the labels
  on top, because every direction shows the same place;
* ``rotated`` — a whole panorama in another frame (stabilised: derotated and levelled). Labels
  would not line up on it, so it is offered for viewing through its before/after preview and as
  a download, never under the labels;
* ``preview`` (``*_preview``), ``mask`` (``*_mask``) and ``image`` (any other JPEG/PNG, e.g. the
  thumbnail or a depth preview) — pictures shown as they are;
* ``download`` — everything else (NPY, EXR depth, PLY, MP4, …).

Job modules name their whole-panorama kinds with :func:`register_panorama_kind`; the kinds of
the modules that exist when this was written are registered below.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import Max
from django.db.models.signals import post_delete
from django.dispatch import receiver

from annotations.imageformats import ImageFormatError, decode, read_header
from annotations.imaging import TILE_SIZE, cached_display, cached_tile

from .models import DerivedAsset

logger = logging.getLogger(__name__)

#: the browser shows these formats as they are
BROWSER_FORMATS = {"jpeg", "png"}
#: formats the server decodes for display (HDR radiance is tone-mapped like an HDR panorama)
RASTER_FORMATS = BROWSER_FORMATS | {"tiff", "exr", "hdr"}
EXTENSION_FORMATS = {
    "jpg": "jpeg", "jpeg": "jpeg", "png": "png", "tif": "tiff", "tiff": "tiff", "exr": "exr",
    "hdr": "hdr", "npy": "npy", "ply": "ply", "mp4": "mp4", "json": "json", "zip": "zip",
}  # fmt: skip
ROLES = ("panorama", "rotated", "preview", "mask", "image", "download")
#: the header of any supported image lies in its first bytes (EXR attributes included)
HEADER_BYTES = 1 << 20
MAX_SUMMARY_KEYS = 16
MAX_SUMMARY_TEXT = 120


@dataclass(frozen=True)
class PanoramaKind:
    label: str
    rotated: bool = False
    preview: str = ""  # the kind of its before/after preview, if the job writes one


PANORAMA_KINDS: dict[str, PanoramaKind] = {}


def register_panorama_kind(kind: str, label: str, rotated: bool = False, preview: str = "") -> None:
    """Declare that assets of ``kind`` are whole panoramas (``rotated``: in another frame)."""
    PANORAMA_KINDS[kind] = PanoramaKind(label, rotated, preview)


register_panorama_kind("cleaned", "Cameraman removed", preview="cleaned_preview")
register_panorama_kind("sky_replaced", "Sky replaced", preview="sky_preview")
register_panorama_kind("colour_matched", "Colour matched", preview="colour_preview")
register_panorama_kind("anonymised", "Anonymised (privacy blur)")
register_panorama_kind("stabilised", "Stabilised", rotated=True, preview="stabilised_preview")


def file_format(asset: DerivedAsset) -> str:
    """The asset's format from its file name (the jobs name their files by what they hold)."""
    name = asset.file.name or ""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name.rsplit("/", 1)[-1] else ""
    return EXTENSION_FORMATS.get(ext, "binary")


def role_of(asset: DerivedAsset) -> str:
    fmt = file_format(asset)
    registered = PANORAMA_KINDS.get(asset.kind)
    if registered is not None and fmt in RASTER_FORMATS:
        return "rotated" if registered.rotated else "panorama"
    if fmt not in BROWSER_FORMATS:
        return "download"
    if asset.kind.endswith("_preview"):
        return "preview"
    if asset.kind.endswith("_mask"):
        return "mask"
    return "image"


def label_of(kind: str) -> str:
    """A human name: the registered label, or the kind with its preview named after its
    panorama kind ("Cameraman removed — before/after")."""
    if kind in PANORAMA_KINDS:
        return PANORAMA_KINDS[kind].label
    for base, registered in PANORAMA_KINDS.items():
        if registered.preview == kind:
            return f"{registered.label} — before/after"
        if kind == f"{base}_mask":
            return f"{registered.label} — mask"
    return kind.replace("_", " ").capitalize()


def params_summary(params: object) -> dict:
    """The scalar parameters of an asset, bounded (no lists, matrices or nested results)."""
    if not isinstance(params, dict):
        return {}
    out: dict = {}
    rotation = params.get("rotation")
    if isinstance(rotation, dict) and isinstance(rotation.get("angle"), int | float):
        out["rotation_deg"] = rotation["angle"]
    for key, value in params.items():
        if len(out) >= MAX_SUMMARY_KEYS:
            break
        if not isinstance(key, str) or key in out:
            continue
        if isinstance(value, bool | int | float) or value is None:
            out[key[:MAX_SUMMARY_TEXT]] = value
        elif isinstance(value, str):
            out[key[:MAX_SUMMARY_TEXT]] = value[:MAX_SUMMARY_TEXT]
    return out


def current_assets(panorama_id: int) -> list[DerivedAsset]:
    """The newest version of each kind of the panorama's assets, ordered by kind."""
    newest = (
        DerivedAsset.objects.filter(panorama_id=panorama_id)
        .values("kind")
        .annotate(v=Max("version"))
    )
    wanted = {(row["kind"], row["v"]) for row in newest}
    assets = DerivedAsset.objects.filter(panorama_id=panorama_id).select_related("job")
    return sorted(
        (a for a in assets if (a.kind, a.version) in wanted), key=lambda a: (a.kind, a.pk)
    )


def image_size(asset: DerivedAsset) -> tuple[int, int]:
    """(width, height) from the file's header only; ImageFormatError if it is no image."""
    try:
        with asset.file.open("rb") as handle:
            head = handle.read(HEADER_BYTES)
    except (FileNotFoundError, OSError) as exc:
        raise ImageFormatError("the file of this asset is missing from storage") from exc
    header = read_header(head)
    return header.width, header.height


def describe(asset: DerivedAsset) -> dict:
    """One asset as the workspace and the admin see it (see :class:`DerivedImageSerializer`)."""
    from django.urls import reverse

    role = role_of(asset)
    fmt = file_format(asset)
    base = reverse("derived-asset-file", kwargs={"pk": asset.pk})
    item = {
        "id": asset.pk,
        "kind": asset.kind,
        "label": label_of(asset.kind),
        "role": role,
        "format": fmt,
        "version": asset.version,
        "job": asset.job_id,
        "job_kind": asset.job.kind if asset.job_id and asset.job else None,
        "created_at": asset.created_at,
        "size_bytes": asset.size_bytes,
        "params": params_summary(asset.params),
        "width": None,
        "height": None,
        "file_url": f"{base}?inline=1" if fmt in BROWSER_FORMATS else None,
        "display_url": None,
        "tiles": None,
        "download_url": base,
        "error": "",
    }
    if role in ("panorama", "rotated"):
        try:
            width, height = image_size(asset)
        except ImageFormatError as exc:
            item["error"] = str(exc)
            return item
        display = reverse("derived-asset-display", kwargs={"pk": asset.pk})
        item.update(width=width, height=height, display_url=display)
        item["tiles"] = {
            "size": TILE_SIZE,
            "cols": -(-width // TILE_SIZE),
            "rows": -(-height // TILE_SIZE),
            "url_template": f"{display.rsplit('/display/', 1)[0]}/tiles/{{col}}/{{row}}/",
        }
    elif role in ("preview", "mask", "image"):
        item["display_url"] = reverse("derived-asset-display", kwargs={"pk": asset.pk})
    return item


def describe_all(assets: Iterable[DerivedAsset]) -> list[dict]:
    return [describe(a) for a in assets]


# ----------------------------------------------------------------------------- display


def _cache_dir(asset: DerivedAsset) -> str:
    """Next to the asset's file (``derived/<project>/<panorama>/<kind>/``), one per row."""
    return f"{asset.file.name.rsplit('/', 1)[0]}/display-{asset.pk}"


def _checked_loader(asset: DerivedAsset):
    """(size, loader) of a displayable asset: the header is read and bounded first."""
    if file_format(asset) not in RASTER_FORMATS or role_of(asset) == "download":
        raise ImageFormatError("this asset is not an image")
    width, height = image_size(asset)
    max_w = settings.LABEL360_MAX_PANORAMA_WIDTH
    max_h = settings.LABEL360_MAX_PANORAMA_HEIGHT
    if width > max_w or height > max_h:
        raise ImageFormatError(f"the image is {width}×{height}; at most {max_w}×{max_h} is shown")

    def load() -> np.ndarray:
        with asset.file.open("rb") as handle:
            data = handle.read()
        return decode(data, read_header(data))

    return (width, height), load


def display_jpeg(asset: DerivedAsset, width: int | None) -> tuple[str, bytes | None]:
    """A JPEG of an image asset at ``width`` (HDR tone-mapped; panoramas exactly 2:1 like
    the originals' display images; other pictures keep their aspect)."""
    size, load = _checked_loader(asset)
    whole = role_of(asset) in ("panorama", "rotated")
    return cached_display(_cache_dir(asset), load, size, width, keep_aspect=not whole)


def display_tile(asset: DerivedAsset, col: int, row: int) -> bytes:
    """One full-resolution 4096² tile of a whole-panorama asset (IndexError outside)."""
    if role_of(asset) not in ("panorama", "rotated"):
        raise ImageFormatError("only whole panoramas have tiles")
    size, load = _checked_loader(asset)
    return cached_tile(_cache_dir(asset), load, size, col, row)


@receiver(post_delete, sender=DerivedAsset, dispatch_uid="inference.derived_images.cache")
def delete_display_cache(sender, instance: DerivedAsset, **kwargs) -> None:
    """A replaced or deleted asset takes its display JPEGs and tiles with it."""
    if not instance.file.name or "/" not in instance.file.name:
        return
    folder = _cache_dir(instance)
    try:
        _, files = default_storage.listdir(folder)
        for name in files:
            default_storage.delete(f"{folder}/{name}")
    except (FileNotFoundError, NotADirectoryError):
        return  # never displayed
    except Exception:  # noqa: BLE001 - a cache left behind must never undo the deletion
        logger.warning("could not delete the display cache %s", folder, exc_info=True)
