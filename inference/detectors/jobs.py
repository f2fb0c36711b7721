"""Job kinds of the pretrained detectors (batch queue).

* ``detect`` (per panorama, or all of the job's project): faces and text on the sphere,
  mapped to the project's classes (``face``, ``text``, ``plate``) and stored as suggestions
  with scores; recognised text in the attributes. Admin action on Panorama and Project.
* ``privacy_blur`` (per panorama): faces and plates detected, plus the polygons of the
  classes the admin names, blurred on the sphere (:mod:`.blur`); the result is the
  panorama's ``anonymised`` asset, written losslessly in the original's kind of file (PNG
  for 8/16-bit images, Radiance HDR or OpenEXR for radiance), so every pixel outside the
  regions is bit-identical to the original. With ``use_for_export`` the dataset exports use
  it instead of the original (:func:`export_asset`).

OpenCV and the detector backends are imported where a job runs, so registering the kinds
keeps a process light.
"""

from __future__ import annotations

import threading
import time

import numpy as np
from django import forms

from annotations.models import Instance, LabelClass, Panorama
from inference.job_inputs import job_panoramas, read_pixels
from inference.models import DerivedAsset, Job
from inference.registry import JobContext, JobError, ParamsError, job_kind

from .classes import OUTPUTS, map_detections, plate_like
from .store import class_mapping, store_detections, validate_mapping
from .weights import WeightsError

DETECTORS = ("face", "text")
ANONYMISED = "anonymised"
MAX_CLASSES = 50
MAX_LISTED_REGIONS = 500
MODEL_VERSION = "mtcnn-facenet-pytorch-2.6.0+pp-ocrv4-rapidocr-1.4.4"

_adapters: dict[str, object] = {}
_adapters_lock = threading.Lock()


def adapter(kind: str):
    """The loaded detector of ``kind`` (cached per process; its view layouts computed once)."""
    from .adapters import FaceAdapter, TextAdapter
    from .layout import scan_views

    with _adapters_lock:
        if kind not in _adapters:
            try:
                made = FaceAdapter() if kind == "face" else TextAdapter()
            except WeightsError as exc:
                raise JobError(str(exc)) from exc
            scan_views(made.scale, 4096)  # warm the layout cache (angles only)
            _adapters[kind] = made
        return _adapters[kind]


# -- params ---------------------------------------------------------------------------------
def _bool(params: dict, key: str, default: bool) -> None:
    value = params.get(key, default)
    if not isinstance(value, bool):
        raise ParamsError(f"{key} must be true or false")
    params[key] = value


def _number(params: dict, key: str, default: float, low: float, high: float, kind=float) -> None:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParamsError(f"{key} must be a number")
    if kind is int and value != int(value):
        raise ParamsError(f"{key} must be an integer")
    if not low <= value <= high:
        raise ParamsError(f"{key} must be between {low} and {high}")
    params[key] = kind(value)


def _mapping_shape(value: object) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > len(OUTPUTS):
        raise ParamsError("classes must be an object {face|text|plate: project class name}")
    for key, name in value.items():
        if key not in OUTPUTS:
            raise ParamsError(f"classes: {str(key)[:40]!r} is not one of {', '.join(OUTPUTS)}")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise ParamsError(f"classes: {key!r} must name a project class (1–100 characters)")
    return dict(value)


def validate_detect_params(params: dict) -> dict:
    params = {k: v for k, v in params.items() if v is not None}
    allowed = {"detectors", "classes", "min_score", "max_width", "fine"}
    unknown = set(params) - allowed
    if unknown:
        raise ParamsError(f"unknown params: {', '.join(sorted(map(str, unknown)))[:200]}")
    detectors = params.get("detectors", list(DETECTORS))
    if (
        not isinstance(detectors, list)
        or not detectors
        or len(detectors) > len(DETECTORS)
        or any(d not in DETECTORS for d in detectors)
    ):
        raise ParamsError(f"detectors must be a non-empty list of {', '.join(DETECTORS)}")
    params["detectors"] = sorted(set(detectors))
    classes = _mapping_shape(params.get("classes"))
    if classes is not None:
        params["classes"] = classes
    _number(params, "min_score", 0.5, 0.0, 1.0)
    _number(params, "max_width", 4096, 256, 16384, int)
    _bool(params, "fine", True)
    return params


def validate_blur_params(params: dict) -> dict:
    params = {k: v for k, v in params.items() if v is not None}
    allowed = {
        "faces",
        "plates",
        "all_text",
        "classes",
        "include_suggestions",
        "min_score",
        "margin",
        "strength",
        "use_for_export",
        "max_width",
    }
    unknown = set(params) - allowed
    if unknown:
        raise ParamsError(f"unknown params: {', '.join(sorted(map(str, unknown)))[:200]}")
    for key, default in (
        ("faces", True),
        ("plates", True),
        ("all_text", False),
        ("include_suggestions", False),
        ("use_for_export", False),
    ):
        _bool(params, key, default)
    classes = params.get("classes", [])
    if isinstance(classes, str):  # the admin form's comma-separated text
        classes = [c.strip() for c in classes.split(",") if c.strip()]
    if (
        not isinstance(classes, list)
        or len(classes) > MAX_CLASSES
        or any(not isinstance(c, str) or not 1 <= len(c) <= 100 for c in classes)
    ):
        raise ParamsError(f"classes must be a list of at most {MAX_CLASSES} class names")
    params["classes"] = sorted(set(classes))
    _number(params, "min_score", 0.5, 0.0, 1.0)
    _number(params, "margin", 0.25, 0.0, 1.0)
    _number(params, "strength", 1.0, 0.25, 4.0)
    _number(params, "max_width", 4096, 256, 16384, int)
    if not (params["faces"] or params["plates"] or params["all_text"] or params["classes"]):
        raise ParamsError("nothing to blur: enable faces, plates or text, or name classes")
    return params


class DetectForm(forms.Form):
    """Admin form of the detect action (same names as the params)."""

    detectors = forms.MultipleChoiceField(
        choices=[("face", "Faces (MTCNN)"), ("text", "Text (PP-OCRv4)")],
        initial=list(DETECTORS),
        widget=forms.CheckboxSelectMultiple,
    )
    face_class = forms.CharField(required=False, help_text="Project class for faces")
    text_class = forms.CharField(required=False, help_text="Project class for text")
    plate_class = forms.CharField(required=False, help_text="Project class for licence plates")
    min_score = forms.FloatField(min_value=0.0, max_value=1.0, initial=0.5)

    def to_params(self) -> dict:
        data = self.cleaned_data
        classes = {
            out: data[f"{out}_class"].strip()
            for out in OUTPUTS
            if data.get(f"{out}_class", "").strip()
        }
        params = {"detectors": list(data["detectors"]), "min_score": data["min_score"]}
        if classes:
            params["classes"] = classes
        return params


class BlurForm(forms.Form):
    """Admin form of the privacy-blur action."""

    faces = forms.BooleanField(required=False, initial=True, help_text="Detect and blur faces")
    plates = forms.BooleanField(
        required=False, initial=True, help_text="Detect and blur licence plates (plate-like text)"
    )
    all_text = forms.BooleanField(required=False, initial=False, help_text="Blur all text")
    classes = forms.CharField(
        required=False, help_text="Also blur the polygons of these classes (comma-separated)"
    )
    include_suggestions = forms.BooleanField(required=False, initial=False)
    strength = forms.FloatField(min_value=0.25, max_value=4.0, initial=1.0)
    use_for_export = forms.BooleanField(
        required=False, initial=False, help_text="Exports use the anonymised image"
    )

    def to_params(self) -> dict:
        return dict(self.cleaned_data)


# -- shared steps ---------------------------------------------------------------------------


def _for_detection(pixels: np.ndarray, max_width: int) -> np.ndarray:
    import cv2

    from annotations.imaging import tonemap_to_uint8

    rgb = tonemap_to_uint8(pixels)
    if rgb.shape[1] > max_width:
        rgb = cv2.resize(rgb, (max_width, max_width // 2), interpolation=cv2.INTER_AREA)
    if rgb.shape[1] != 2 * rgb.shape[0]:
        rgb = cv2.resize(rgb, (rgb.shape[1], rgb.shape[1] // 2), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(rgb)


def _detect(rgb, kinds, fine, report, base, share) -> tuple[list, dict]:
    """Run the detectors of ``kinds``; progress per view mapped into [base, base + share]."""
    from .scan import ScanStats, detect_on_sphere

    found, stats = [], ScanStats()
    for k, kind in enumerate(kinds):
        part = share / len(kinds)
        start = base + k * part

        def progress(fraction, message, start=start, part=part):
            report(start + part * fraction, message)

        found += detect_on_sphere(rgb, adapter(kind), progress=progress, stats=stats)
    return found, {
        "views": stats.views,
        "fine_views": stats.fine_views,
        "view_pixels": stats.view_pixels,
        "seconds": {k: round(v, 2) for k, v in stats.seconds.items()},
    }


@job_kind(
    "detect",
    queue="batch",
    label="Suggest faces, text and licence plates",
    validate=validate_detect_params,
    admin_form=DetectForm,
)
def run_detect(job: Job, ctx: JobContext) -> dict:
    """Faces and text detected on the sphere, stored as suggestions of the project's classes."""
    params = job.params
    panoramas = job_panoramas(job)
    results = []
    n = len(panoramas)
    for i, panorama in enumerate(panoramas):
        ctx.check_cancelled()
        mapping = params.get("classes") or class_mapping(panorama.project)
        try:
            mapping = validate_mapping(panorama.project, mapping)
        except Exception as exc:
            raise JobError(f"class mapping of project {panorama.project_id}: {exc}") from exc
        kinds = [
            k for k in params["detectors"] if k in mapping or (k == "text" and "plate" in mapping)
        ]
        if not kinds:
            raise JobError(
                "the project maps no detector output to a class: set classes "
                "{face|text|plate: class name} in the job or the project's detector settings"
            )

        def report(fraction, message, i=i, panorama=panorama):
            ctx.progress((i + fraction) / n, f"panorama {panorama.pk}: {message}")

        started = time.perf_counter()
        rgb = _for_detection(read_pixels(panorama), params["max_width"])
        detections, info = _detect(rgb, kinds, params["fine"], report, 0.0, 0.95)
        mapped = map_detections(detections, mapping, params["min_score"])
        stored = store_detections(panorama, mapped, MODEL_VERSION)
        stored.update(info, seconds_total=round(time.perf_counter() - started, 2))
        stored["by_output"] = {out: sum(m.output == out for m in mapped) for out in OUTPUTS}
        results.append(stored)
        ctx.progress((i + 1) / n, f"{i + 1}/{n} panoramas")
    return {"model": MODEL_VERSION, "panoramas": results}


# -- privacy blur ---------------------------------------------------------------------------
def encode_lossless(pixels: np.ndarray, original_format: str) -> tuple[bytes, str]:
    """The image as a lossless file of the original's kind: (bytes, extension)."""
    import cv2

    if pixels.dtype in (np.uint8, np.uint16):
        bgr = pixels
        if pixels.ndim == 3 and pixels.shape[2] in (3, 4):
            bgr = cv2.cvtColor(
                pixels, cv2.COLOR_RGB2BGR if pixels.shape[2] == 3 else cv2.COLOR_RGBA2BGRA
            )
        ok, data = cv2.imencode(".png", bgr)
        if not ok:
            raise JobError("could not encode the anonymised image as PNG")
        return data.tobytes(), "png"
    if original_format == "hdr" and pixels.ndim == 3 and pixels.shape[2] == 3:
        ok, data = cv2.imencode(".hdr", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
        if not ok:
            raise JobError("could not encode the anonymised image as Radiance HDR")
        return data.tobytes(), "hdr"
    from label360.exr import write_exr

    return write_exr(pixels.astype(np.float32)), "exr"


def _class_regions(panorama: Panorama, names: list[str], include_suggestions: bool) -> list:
    if not names:
        return []
    known = set(
        LabelClass.objects.filter(project_id=panorama.project_id, name__in=names).values_list(
            "name", flat=True
        )
    )
    missing = sorted(set(names) - known)
    if missing:
        raise JobError(f"project {panorama.project_id} has no classes named {missing}")
    rows = Instance.objects.filter(panorama=panorama, label_class__name__in=names)
    if not include_suggestions:
        rows = rows.filter(is_suggestion=False)
    return [g for g in rows.values_list("geometry", flat=True) if g]


@job_kind(
    "privacy_blur",
    queue="batch",
    label="Blur faces and licence plates (anonymise)",
    validate=validate_blur_params,
    admin_form=BlurForm,
)
def run_privacy_blur(job: Job, ctx: JobContext) -> dict:
    """Faces, plates and named classes blurred on the sphere: the ``anonymised`` asset."""
    from .blur import blur_regions, expand_geometry

    params = job.params
    panoramas = job_panoramas(job)
    kinds = []
    if params["faces"]:
        kinds.append("face")
    if params["plates"] or params["all_text"]:
        kinds.append("text")
    results = {}
    n = len(panoramas)
    for i, panorama in enumerate(panoramas):
        ctx.check_cancelled()

        def report(fraction, message, i=i, panorama=panorama):
            ctx.progress((i + fraction) / n, f"panorama {panorama.pk}: {message}")

        regions = _class_regions(panorama, params["classes"], params["include_suggestions"])
        named = len(regions)
        pixels = read_pixels(panorama)
        counts = {"faces": 0, "plates": 0, "text": 0, "classes": named}
        detected: list = []
        info: dict = {}
        if kinds:
            rgb = _for_detection(pixels, params["max_width"])
            detections, info = _detect(rgb, kinds, True, report, 0.0, 0.8)
            for d in detections:
                if d.score < params["min_score"]:
                    continue
                if d.kind == "face":
                    counts["faces"] += 1
                elif plate_like(d.geometry, d.centre[1], d.text) and params["plates"]:
                    counts["plates"] += 1
                elif params["all_text"]:
                    counts["text"] += 1
                else:
                    continue
                region = expand_geometry(d.geometry, 1.0 + params["margin"])
                regions.append(region)
                detected.append(region)
        ctx.check_cancelled()
        blurred, written = blur_regions(
            pixels,
            regions,
            strength=params["strength"],
            progress=lambda k, total, report=report: report(
                0.8 + 0.2 * k / max(total, 1), f"blurred region {k}/{total}"
            ),
        )
        data, ext = encode_lossless(blurred, panorama.file_format)
        meta = {
            **{k: v for k, v in params.items() if k != "classes"},
            "classes": params["classes"],
            "regions": len(regions),
            # the detected regions as blurred (quads: small), for review and audit
            "detected_regions": detected[:MAX_LISTED_REGIONS],
            "counts": counts,
            "pixels_blurred": written,
            "format": ext,
            "source_format": panorama.file_format,
            "model": MODEL_VERSION,
        }
        asset = ctx.save_asset(panorama, ANONYMISED, f"anonymised.{ext}", data, meta)
        results[str(panorama.pk)] = {"asset": asset.pk, "counts": counts, **info}
        ctx.progress((i + 1) / n, f"{i + 1}/{n} panoramas")
    return {"model": MODEL_VERSION, "panoramas": results}


def export_asset(panorama: Panorama) -> DerivedAsset | None:
    """The anonymised image the exports must use instead of the original, if the last privacy
    blur of this panorama asked for it."""
    asset = (
        DerivedAsset.objects.filter(panorama=panorama, kind=ANONYMISED).order_by("-version").first()
    )
    if asset is not None and (asset.params or {}).get("use_for_export"):
        return asset
    return None
