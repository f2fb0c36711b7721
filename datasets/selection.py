"""What an export contains: options, the selected panoramas/classes/instances, the cache key."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db.models import Count, Max, QuerySet, Sum, TextField
from django.db.models.functions import Cast

from annotations.models import (
    ActiveTime,
    Instance,
    LabelClass,
    Panorama,
    PanoramaStatus,
    Project,
)

from .splits import SplitError, SplitSpec, parse_split

FORMATS = ("coco", "coco_views", "png", "label360")
IGNORE_MODES = ("crowd", "omit")
#: coco: objects across the ±180° seam as one annotation ("whole") or two ("split")
SEAM_MODES = ("whole", "split")
#: label PNG instance ids: Cityscapes class × 1000 + n, or 1..N per panorama with a JSON index
PNG_ID_MODES = ("cityscapes", "sequential")


class OptionsError(ValueError):
    """Invalid export options (message is shown to the user)."""


@dataclass(frozen=True)
class ExportOptions:
    """Everything that selects and shapes an export (part of the cache key)."""

    format: str = "coco"
    statuses: tuple[str, ...] = ()  # empty: every status
    classes: tuple[int, ...] = ()  # LabelClass ids; empty: every class
    panoramas: tuple[int, ...] = ()  # Panorama ids; empty: every panorama
    include_images: bool = False
    include_suggestions: bool = False
    ignore: str = "crowd"  # ignore-classes: "crowd" (iscrowd=1) or "omit"
    views: str = "cubemap"  # coco_views: "cubemap" or "list"
    face_size: int = 512
    face_fov: float = 90.0
    view_list: tuple[tuple[float, float, float, float, int, int], ...] = field(default=())
    image_quality: int = 92
    seam: str = "whole"
    png_ids: str = "cityscapes"
    split: SplitSpec | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExportOptions:
        """Validate and normalise user input (API body or command line)."""
        fmt = data.get("format", "coco")
        if fmt not in FORMATS:
            raise OptionsError(f"format must be one of {', '.join(FORMATS)}")
        statuses = tuple(sorted(set(data.get("statuses") or ())))
        bad = [s for s in statuses if s not in PanoramaStatus.values]
        if bad:
            raise OptionsError(f"unknown statuses: {', '.join(map(str, bad))}")
        ignore = data.get("ignore", "crowd")
        if ignore not in IGNORE_MODES:
            raise OptionsError("ignore must be 'crowd' or 'omit'")
        views = data.get("views", "cubemap")
        if views not in ("cubemap", "list"):
            raise OptionsError("views must be 'cubemap' or 'list'")
        raw_views = data.get("view_list") or ()
        if not isinstance(raw_views, list | tuple) or len(raw_views) > MAX_VIEWS:
            raise OptionsError(f"view_list must be a list of at most {MAX_VIEWS} views")
        view_list = [_view(k, v) for k, v in enumerate(raw_views)]
        if fmt == "coco_views" and views == "list" and not view_list:
            raise OptionsError("views='list' needs a non-empty view_list")
        seam = data.get("seam", "whole")
        if seam not in SEAM_MODES:
            raise OptionsError("seam must be 'whole' or 'split'")
        if seam == "split" and fmt != "coco":
            raise OptionsError("seam='split' applies to the coco format only")
        png_ids = data.get("png_ids", "cityscapes")
        if png_ids not in PNG_ID_MODES:
            raise OptionsError("png_ids must be 'cityscapes' or 'sequential'")
        try:
            split = parse_split(data.get("split"))
        except SplitError as exc:
            raise OptionsError(str(exc)) from exc
        try:
            face_size = int(data.get("face_size", 512))
            face_fov = float(data.get("face_fov", 90.0))
            quality = int(data.get("image_quality", 92))
            classes = _ids(data.get("classes"), "classes")
            panoramas = _ids(data.get("panoramas"), "panoramas")
        except (TypeError, ValueError) as exc:
            raise OptionsError(f"bad number in options: {exc}") from exc
        if not math.isfinite(face_fov):
            raise OptionsError("face_fov must be a finite number")
        if not (16 <= face_size <= 8192):
            raise OptionsError("face_size must be in 16..8192")
        if not (90.0 <= face_fov < 180.0):
            raise OptionsError("face_fov must be in [90, 180)")
        return cls(
            format=fmt,
            statuses=statuses,
            classes=classes,
            panoramas=panoramas,
            include_images=bool(data.get("include_images", False)),
            include_suggestions=bool(data.get("include_suggestions", False)),
            ignore=ignore,
            views=views,
            face_size=face_size,
            face_fov=face_fov,
            view_list=tuple(view_list),
            image_quality=max(1, min(100, quality)),
            seam=seam,
            png_ids=png_ids,
            split=split,
        )

    def as_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))


#: Views per panorama in a view export.
MAX_VIEWS = 64
VIEW_KEYS = ("yaw", "pitch", "roll", "hfov", "width", "height")


def _view(k: int, v: Any) -> tuple[float, float, float, float, int, int]:
    """One view as (yaw, pitch, roll, hfov, width, height): from an object (roll optional) or
    the stored list form; every number finite, hfov in (0, 180), sizes in 1..8192."""
    if isinstance(v, list | tuple) and len(v) == 6:
        v = dict(zip(VIEW_KEYS, v, strict=True))
    if not isinstance(v, dict):
        raise OptionsError(f"view {k}: needs yaw, pitch, hfov, width, height (roll optional)")
    try:
        angles = [_finite(v[key] if key != "roll" else v.get("roll", 0.0)) for key in VIEW_KEYS[:4]]
        width, height = (_integer(v[key]) for key in ("width", "height"))
    except KeyError as exc:
        raise OptionsError(f"view {k}: {exc.args[0]} is missing") from exc
    except (TypeError, ValueError) as exc:
        raise OptionsError(f"view {k}: {exc}") from exc
    if not (0 < angles[3] < 180 and 0 < width <= 8192 and 0 < height <= 8192):
        raise OptionsError(f"view {k}: hfov must be in (0, 180) and sizes in 1..8192")
    return (*angles, width, height)


def _ids(values: Any, what: str) -> tuple[int, ...]:
    if values is None:
        return ()
    if not isinstance(values, list | tuple) or len(values) > 100_000:
        raise OptionsError(f"{what} must be a list of at most 100000 ids")
    out = set()
    for x in values:
        value = _integer(x)
        if not 0 < value < 2**63:
            raise OptionsError(f"{what}: {x!r} is not a valid id")
        out.add(value)
    return tuple(sorted(out))


def _finite(x: Any) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float | str):
        raise ValueError(f"{x!r} is not a number")
    value = float(x)
    if not math.isfinite(value):
        raise ValueError(f"{x!r} is not a finite number")
    return value


def _integer(x: Any) -> int:
    if isinstance(x, bool) or not isinstance(x, int | float | str):
        raise ValueError(f"{x!r} is not an integer")
    value = float(x)
    if not math.isfinite(value) or value != int(value):
        raise ValueError(f"{x!r} is not an integer")
    return int(value)


def selected_classes(project: Project, options: ExportOptions) -> list[LabelClass]:
    """The project's classes in export order (order, name, id), filtered."""
    qs = LabelClass.objects.filter(project=project).order_by("order", "name", "id")
    if options.classes:
        qs = qs.filter(pk__in=options.classes)
    return list(qs)


def selected_panoramas(project: Project, options: ExportOptions) -> QuerySet[Panorama]:
    qs = Panorama.objects.filter(project=project).order_by("id")
    if options.statuses:
        qs = qs.filter(status__in=options.statuses)
    if options.panoramas:
        qs = qs.filter(pk__in=options.panoramas)
    return qs


def selected_instances(project: Project, options: ExportOptions) -> QuerySet[Instance]:
    qs = Instance.objects.filter(panorama__project=project)
    if options.statuses:
        qs = qs.filter(panorama__status__in=options.statuses)
    if options.panoramas:
        qs = qs.filter(panorama_id__in=options.panoramas)
    if options.classes:
        qs = qs.filter(label_class_id__in=options.classes)
    if not options.include_suggestions:
        qs = qs.filter(is_suggestion=False)
    return qs


#: What the mask exports (COCO, COCO views, label PNGs) read of an instance: no authors or
#: times, so two joins and two timestamps a row fewer to load.
MASK_FIELDS = ("id", "panorama_id", "label_class_id", "geometry", "source", "is_suggestion",
               "score", "model_version", "order", "attributes")  # fmt: skip
#: Everything an export may write of an instance (the Label360 format's authors and times).
INSTANCE_FIELDS = MASK_FIELDS + (
    "created_by__username",
    "updated_by__username",
    "created_at",
    "updated_at",
)


def _geometry_as_text(wanted: bool) -> dict[str, Cast]:
    return {"geometry_json": Cast("geometry", output_field=TextField())} if wanted else {}


def iter_panorama_instances(
    project: Project,
    options: ExportOptions,
    chunk_size: int = 2000,
    fields: tuple[str, ...] = INSTANCE_FIELDS,
    geometry_text: bool = False,
) -> Iterator[tuple[Panorama, list[dict[str, Any]]]]:
    """(panorama, its selected instances as dicts of ``fields``, in drawing order) for every
    panorama. With ``geometry_text`` the geometry comes as its JSON text (``geometry_json``)
    instead, for a caller that parses it elsewhere (the COCO export's worker processes).

    Two server-side cursors walk panoramas and instances side by side in panorama-id order,
    so memory holds one panorama's instances at a time however large the project is.
    """
    panoramas = selected_panoramas(project, options).iterator(chunk_size=500)
    rows = (
        selected_instances(project, options)
        .order_by("panorama_id", "order", "id")
        .values(*fields, **_geometry_as_text(geometry_text))
        .iterator(chunk_size=chunk_size)
    )
    groups = itertools.groupby(rows, key=lambda r: r["panorama_id"])
    pending = next(groups, None)
    for pano in panoramas:
        while pending is not None and pending[0] < pano.pk:
            pending = next(groups, None)
        if pending is not None and pending[0] == pano.pk:
            items = list(pending[1])
            pending = next(groups, None)
        else:
            items = []
        yield pano, items


def export_digest(project: Project, options: ExportOptions) -> str:
    """Cache key: changes whenever anything an export of ``options`` would contain changes."""
    panos = selected_panoramas(project, options).aggregate(
        n=Count("id"), rev=Sum("revision"), upd=Max("updated_at")
    )
    statuses = sorted(
        selected_panoramas(project, options)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
        .order_by("status")
    )
    inst = selected_instances(project, options).aggregate(
        n=Count("id"), upd=Max("updated_at"), top=Max("id")
    )
    classes = list(
        LabelClass.objects.filter(project=project)
        .order_by("id")
        .values_list(
            "id", "name", "color", "order", "is_ignore", "is_group", "shortcut", "attribute_schema"
        )
    )
    active = ActiveTime.objects.filter(panorama__project=project).aggregate(
        s=Sum("seconds"), last=Max("last_beat")
    )
    key = {
        "project": project.pk,
        "options": options.as_dict(),
        "panoramas": [panos["n"], panos["rev"], str(panos["upd"])],
        "statuses": statuses,
        "instances": [inst["n"], str(inst["upd"]), inst["top"]],
        "classes": classes,
        "active_time": [active["s"], str(active["last"])],
        "dataset_settings": (project.settings or {}).get("dataset"),
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()


#: Label PNG limits. Cityscapes ids: class number × 1000 + n in 16 bits, so class numbers
#: up to 65 and 999 instances of a class per panorama; sequential ids: 1..65535 per panorama.
PNG_MAX_CLASS_NUMBER = 65
PNG_MAX_PER_CLASS = 999
PNG_MAX_SEQUENTIAL = 65535


def check_feasible(project: Project, options: ExportOptions) -> None:
    """OptionsError when the selection cannot be exported as asked (checked when the export is
    requested, so the answer is a clear 400 rather than a failed job): panorama ids that are
    not the project's, project dataset settings that do not validate, label PNG limits."""
    if options.panoramas:
        found = set(
            Panorama.objects.filter(project=project, pk__in=options.panoramas).values_list(
                "pk", flat=True
            )
        )
        missing = [pk for pk in options.panoramas if pk not in found]
        if missing:
            shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
            raise OptionsError(f"panoramas not in the project: {shown}")
    from .metadata import MetadataError, dataset_metadata

    try:
        dataset_metadata(project)
    except MetadataError as exc:
        raise OptionsError(f"project settings 'dataset': {exc}") from exc
    if options.split is not None and options.split.method == "field":
        from .splits import assign, split_names

        rows = selected_panoramas(project, options).values_list("id", "sha256", "metadata")
        try:
            split_names(options.split, assign(options.split, rows.iterator(chunk_size=2000)))
        except SplitError as exc:
            raise OptionsError(str(exc)) from exc
    if options.format == "png":
        _check_png(project, options)


def _check_png(project: Project, options: ExportOptions) -> None:
    from .exporters.common import project_class_numbers

    classes = selected_classes(project, options)
    numbers = project_class_numbers(project)
    things = [c for c in classes if not (c.is_ignore or c.is_group)]
    instances = selected_instances(project, options)
    if options.png_ids == "sequential":
        busiest = instances.values("panorama_id").annotate(n=Count("id")).order_by("-n").first()
        if busiest is not None and busiest["n"] > PNG_MAX_SEQUENTIAL:
            raise OptionsError(
                f"panorama {busiest['panorama_id']} has {busiest['n']} instances; 16-bit "
                f"instance PNGs number at most {PNG_MAX_SEQUENTIAL}: export COCO"
            )
        return
    high = [c for c in things if numbers[c.pk] > PNG_MAX_CLASS_NUMBER]
    if high:
        raise OptionsError(
            f"class {high[0].name!r} is class number {numbers[high[0].pk]} of the project; "
            f"Cityscapes instance ids (class × 1000 + n, 16 bits) reach class "
            f"{PNG_MAX_CLASS_NUMBER}: use png_ids='sequential', or export COCO"
        )
    busiest = (
        instances.filter(label_class_id__in=[c.pk for c in things])
        .values("panorama_id", "label_class__name")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    if busiest is not None and busiest["n"] > PNG_MAX_PER_CLASS:
        raise OptionsError(
            f"panorama {busiest['panorama_id']} has {busiest['n']} instances of class "
            f"{busiest['label_class__name']!r}; Cityscapes instance ids number at most "
            f"{PNG_MAX_PER_CLASS} instances of a class per panorama: use "
            "png_ids='sequential' (ids 1..65535 per panorama with a JSON index), export "
            "COCO, or mark the class as a group"
        )
