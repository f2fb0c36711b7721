"""Job kinds of the aerial-tour modules: stabilise, replace_sky, colour_transfer.

Stabilisation and colour transfer treat the job's panoramas as one ordered sequence (frames
of a video sequence by frame number, otherwise by file name): one job per selection. Sky
replacement works per panorama. Results are derived assets of each panorama (the processed
image, a mask where there is one, a before/after preview); sequences also get an MP4.

Importing this module registers the job kinds and nothing more: OpenCV and the algorithm
modules (:mod:`.colour`, :mod:`.sky`, :mod:`.stabilise`, which load OpenCV and SciPy) are
imported where a job runs or its params are checked, so a web process stays light.
"""

from __future__ import annotations

import io
import os
import tempfile

import numpy as np
from django import forms
from PIL import Image

from ..job_inputs import job_panoramas, read_pixels
from ..models import Job
from ..registry import JobContext, JobError, ParamsError, job_kind
from .choices import SPACES

MAX_FRAMES = 2000
MAX_WIDTH = 8192


# -- shared helpers --------------------------------------------------------------------------


def ordered_frames(job: Job) -> list:
    """The frames in order: a named sequence's frames; otherwise the job's panoramas ordered by
    their place in a sequence when they have one, else by original file name (then upload
    order), which is how cameras number their shots."""
    from sequences.models import Sequence, SequenceFrame

    seq_id = job.params.get("sequence")
    if seq_id is not None:
        sequence = Sequence.objects.filter(pk=seq_id, project_id=job.project_id).first()
        if sequence is None:
            raise JobError(f"sequence {seq_id} not found in this project")
        frames = [f.panorama for f in sequence.frames.select_related("panorama")]
        if not frames:
            raise JobError(f"sequence {seq_id} has no frames (yet)")
        return frames
    panoramas = job_panoramas(job)
    place = {
        f.panorama_id: (f.sequence_id, f.index)
        for f in SequenceFrame.objects.filter(panorama__in=panoramas)
    }

    def key(p) -> tuple:
        return (p.pk not in place, place.get(p.pk, (0, 0)), p.original_name, p.pk)

    return sorted(panoramas, key=key)


def _sequence_param(params: dict) -> int | None:
    value = params.get("sequence")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ParamsError("sequence must be the id of a sequence (or null)")
    return value


def _load(panorama, max_width: int) -> np.ndarray:
    import cv2

    from annotations.imaging import tonemap_to_uint8

    rgb = tonemap_to_uint8(read_pixels(panorama))
    if rgb.shape[1] != 2 * rgb.shape[0]:
        raise JobError(f"panorama {panorama.pk} is not equirectangular (2:1)")
    if rgb.shape[1] > max_width:
        rgb = cv2.resize(rgb, (max_width, max_width // 2), interpolation=cv2.INTER_AREA)
    return rgb


def _jpeg(rgb: np.ndarray, quality: int = 92) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb[:, :, :3])).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


def before_after(before: np.ndarray, after: np.ndarray, width: int = 1024) -> bytes:
    """Before (top) and after (bottom) at preview size, one JPEG."""
    import cv2

    h = width // 2
    top = cv2.resize(before[:, :, :3], (width, h), interpolation=cv2.INTER_AREA)
    bottom = cv2.resize(after[:, :, :3], (width, h), interpolation=cv2.INTER_AREA)
    return _jpeg(np.concatenate([top, np.full((4, width, 3), 255, np.uint8), bottom]), 85)


def _mp4(frames: list[np.ndarray], fps: float) -> bytes:
    """An MP4 (MPEG-4 part 2 through OpenCV's bundled FFmpeg) of 8-bit RGB frames."""
    import cv2

    h, w = frames[0].shape[:2]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "out.mp4")
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
        if not writer.isOpened():
            raise JobError("this server's OpenCV cannot write MP4 video")
        for frame in frames:
            writer.write(cv2.cvtColor(frame[:, :, :3], cv2.COLOR_RGB2BGR))
        writer.release()
        with open(path, "rb") as handle:
            return handle.read()


def _check_sizes(frames: list[np.ndarray], panoramas: list) -> None:
    first = frames[0].shape[:2]
    for frame, p in zip(frames, panoramas, strict=True):
        if frame.shape[:2] != first:
            raise JobError(
                f"panorama {p.pk} is {frame.shape[1]}×{frame.shape[0]}, the first frame "
                f"{first[1]}×{first[0]}: a sequence needs frames of one size"
            )


def _number(params: dict, name: str, lo: float, hi: float, default: float) -> float:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise ParamsError(f"{name} must be a number in [{lo}, {hi}]")
    return float(value)


def _known(params: dict, names: set[str]) -> None:
    unknown = set(params) - names
    if unknown:
        raise ParamsError(f"unknown params: {', '.join(sorted(unknown))}")


# -- stabilisation ---------------------------------------------------------------------------
def validate_stabilise(params: dict) -> dict:
    _known(params, {"mode", "sigma_frames", "level", "max_width", "fps", "sequence"})
    mode = params.get("mode", "smooth")
    if mode not in ("smooth", "lock"):
        raise ParamsError("mode must be 'smooth' (keep the heading, remove shake) or 'lock'")
    return {
        "mode": mode,
        "sigma_frames": _number(params, "sigma_frames", 0.0, 100.0, 5.0),
        "level": bool(params.get("level", True)),
        "max_width": int(_number(params, "max_width", 256, MAX_WIDTH, 4096)),
        "fps": _number(params, "fps", 1.0, 120.0, 30.0),
        "sequence": _sequence_param(params),
    }


class StabiliseForm(forms.Form):
    mode = forms.ChoiceField(
        choices=[("smooth", "Smooth the path (keep turns)"), ("lock", "Lock the orientation")]
    )
    sigma_frames = forms.FloatField(initial=5.0, min_value=0, max_value=100)
    level = forms.BooleanField(initial=True, required=False, help_text="Level the horizon")
    max_width = forms.IntegerField(initial=4096, min_value=256, max_value=MAX_WIDTH)
    fps = forms.FloatField(initial=30.0, min_value=1, max_value=120, help_text="MP4 frame rate")
    sequence = forms.IntegerField(required=False, help_text="A sequence's id (else: selection)")

    def to_params(self) -> dict:
        return dict(self.cleaned_data)


def _angles(r: np.ndarray) -> dict:
    from label360.sphere.vectors import vec_to_lonlat

    from .rotations import angle_deg

    lon, lat = vec_to_lonlat(r @ np.array([0.0, 0.0, 1.0]))
    return {
        "angle": round(angle_deg(r), 4),
        "forward_lon": round(float(lon), 4),
        "forward_lat": round(float(lat), 4),
        "matrix": np.round(r, 8).tolist(),
    }


@job_kind(
    "stabilise",
    queue="batch",
    label="Stabilise 360° sequence…",
    validate=validate_stabilise,
    admin_form=StabiliseForm,
    per_panorama=False,
)
def run_stabilise(job: Job, ctx: JobContext) -> dict:
    """Estimate the camera rotation between frames, smooth it, level the horizon, derotate."""
    import cv2

    from label360.sphere.projection import rotate_equirect

    from .stabilise import estimate_path, estimate_up, frame_features, stabilising_rotations

    params = job.params
    panoramas = ordered_frames(job)
    if len(panoramas) < 2:
        raise JobError("stabilisation needs a sequence of at least 2 frames")
    if len(panoramas) > MAX_FRAMES:
        raise JobError(f"at most {MAX_FRAMES} frames per stabilisation job")
    n = len(panoramas)
    features, first = [], None
    for k, p in enumerate(panoramas):  # pass 1: features only (frames are not kept)
        ctx.check_cancelled()
        rgb = _load(p, params["max_width"])
        first = rgb if first is None else first
        _check_sizes([first, rgb], [panoramas[0], p])
        features.append(frame_features(rgb))
        ctx.progress(0.45 * (k + 1) / n, f"features of frame {k + 1}/{n}")
    try:
        path, inliers = estimate_path(features)
    except ValueError as exc:
        raise JobError(f"could not follow the camera: {exc}") from exc
    up, note = None, ""
    if params["level"]:
        step = max(1, n // 8)
        picked = list(range(0, n, step))
        try:
            up = estimate_up(
                [_load(panoramas[i], params["max_width"]) for i in picked],
                [path[i] for i in picked],
            )
        except ValueError as exc:
            note = f"horizon not levelled: {exc}"
    rotations = stabilising_rotations(path, params["mode"], params["sigma_frames"], up)
    out_frames, per_frame = [], {}
    for k, (p, r) in enumerate(zip(panoramas, rotations, strict=True)):  # pass 2: derotate
        ctx.check_cancelled()
        rgb = _load(p, params["max_width"])
        out = rotate_equirect(rgb, r)
        meta = {**params, "frame": k, "rotation": _angles(r)}
        asset = ctx.save_asset(p, "stabilised", "stabilised.jpg", _jpeg(out), meta)
        ctx.save_asset(p, "stabilised_preview", "before_after.jpg", before_after(rgb, out), meta)
        per_frame[str(p.pk)] = {"frame": k, "asset": asset.pk, "rotation": _angles(r)}
        small_w = min(out.shape[1], 2048)
        out_frames.append(cv2.resize(out, (small_w, small_w // 2), interpolation=cv2.INTER_AREA))
        ctx.progress(0.5 + 0.45 * (k + 1) / n, f"derotated frame {k + 1}/{n}")
    video = ctx.save_asset(
        panoramas[0],
        "stabilised_video",
        "stabilised.mp4",
        _mp4(out_frames, params["fps"]),
        {**params, "frames": n},
    )
    return {
        "frames": per_frame,
        "video_asset": video.pk,
        "inlier_matches": inliers,
        "up": None if up is None else np.round(up, 6).tolist(),
        "levelled": up is not None,
        "note": note,
    }


# -- sky replacement -------------------------------------------------------------------------
def validate_replace_sky(params: dict) -> dict:
    _known(params, {"sky_panorama", "heading", "feather_deg", "relight", "sky_class", "max_width"})
    sky = params.get("sky_panorama")
    if isinstance(sky, bool) or not isinstance(sky, int):
        raise ParamsError("sky_panorama must be the id of the panorama whose sky is used")
    sky_class = params.get("sky_class")
    if sky_class is not None and (not isinstance(sky_class, str) or not 0 < len(sky_class) <= 100):
        raise ParamsError("sky_class must be a class name (or null)")
    return {
        "sky_panorama": sky,
        "heading": _number(params, "heading", -360.0, 360.0, 0.0),
        "feather_deg": _number(params, "feather_deg", 0.0, 10.0, 0.5),
        "relight": _number(params, "relight", 0.0, 1.0, 0.5),
        "sky_class": sky_class,
        "max_width": int(_number(params, "max_width", 256, MAX_WIDTH, 4096)),
    }


class ReplaceSkyForm(forms.Form):
    sky_panorama = forms.IntegerField(help_text="Id of the panorama whose sky is put in")
    heading = forms.FloatField(initial=0.0, min_value=-360, max_value=360, help_text="Degrees")
    feather_deg = forms.FloatField(initial=0.5, min_value=0, max_value=10)
    relight = forms.FloatField(
        initial=0.5,
        min_value=0,
        max_value=1,
        help_text="0 = keep the foreground's colours, 1 = full relight",
    )
    sky_class = forms.CharField(required=False, help_text="Class whose polygons are the sky")
    max_width = forms.IntegerField(initial=4096, min_value=256, max_value=MAX_WIDTH)

    def to_params(self) -> dict:
        data = dict(self.cleaned_data)
        data["sky_class"] = data.get("sky_class") or None
        return data


def _sky_from_polygons(panorama, class_name: str, width: int, height: int) -> np.ndarray | None:
    """The union of the panorama's polygons of ``class_name``, rasterised exactly; None if
    the class has no polygons on this panorama."""
    from label360.sphere.raster import rasterize

    instances = panorama.instances.filter(label_class__name=class_name)
    mask = np.zeros((height, width), bool)
    found = False
    for inst in instances:
        mask |= rasterize(inst.geometry, width, height).astype(bool)
        found = True
    return mask if found else None


def _sky_model(job: Job) -> tuple | None:
    """(predictor, sky class index) of the project's active pre-labelling model when its
    classes include "sky"; None otherwise (the classical segmentation is used)."""
    from inference.prelabel.interactive import cached_predictor
    from inference.prelabel.store import project_model

    weights = project_model(job.project) if job.project_id else None
    names = [str(n).lower() for n in (weights.class_names if weights else [])]
    if "sky" not in names:
        return None
    try:
        return cached_predictor(weights), names.index("sky")
    except Exception as exc:
        raise JobError(f"could not load the project model {weights.pk}: {exc}") from exc


@job_kind(
    "replace_sky",
    queue="batch",
    label="Replace the sky…",
    validate=validate_replace_sky,
    admin_form=ReplaceSkyForm,
)
def run_replace_sky(job: Job, ctx: JobContext) -> dict:
    """Segment the sky (polygons of a class, else classical), put in another panorama's sky."""
    from annotations.models import Panorama

    from .sky import NoSkyError, replace_sky, segment_sky, sky_from_model, sky_plate

    params = job.params
    panoramas = job_panoramas(job)
    source = Panorama.objects.filter(pk=params["sky_panorama"]).first()
    if source is None:
        raise JobError(f"sky panorama {params['sky_panorama']} not found")
    try:
        new_sky = sky_plate(_load(source, params["max_width"]))
    except NoSkyError as exc:
        raise JobError(f"sky panorama {source.pk}: {exc}") from exc
    model = None if params["sky_class"] else _sky_model(job)
    results = {}
    n = len(panoramas)
    for k, p in enumerate(panoramas):
        ctx.check_cancelled()
        rgb = _load(p, params["max_width"])
        h, w = rgb.shape[:2]
        method = "classical"
        sky = None
        if params["sky_class"]:
            sky = _sky_from_polygons(p, params["sky_class"], w, h)
            method = f"polygons of class {params['sky_class']!r}"
            if sky is None:
                raise JobError(f"panorama {p.pk} has no polygons of class {params['sky_class']!r}")
        try:
            if sky is None and model is not None:
                sky = sky_from_model(rgb, model[0], model[1])
                method = "project model"
            if sky is None:
                sky = segment_sky(rgb)
            out = replace_sky(
                rgb, sky, new_sky, params["heading"], params["feather_deg"], params["relight"]
            )
        except NoSkyError as exc:
            raise JobError(f"panorama {p.pk}: {exc}") from exc
        meta = {**params, "mask": method}
        assets = {
            "sky_replaced": ctx.save_asset(p, "sky_replaced", "sky_replaced.jpg", _jpeg(out), meta),
            "sky_mask": ctx.save_asset(
                p, "sky_mask", "sky_mask.png", _png(sky.astype(np.uint8) * 255), meta
            ),
            "sky_preview": ctx.save_asset(
                p, "sky_preview", "before_after.jpg", before_after(rgb, out), meta
            ),
        }
        results[str(p.pk)] = {"assets": {key: a.pk for key, a in assets.items()}, "mask": method}
        ctx.progress((k + 1) / n, f"{k + 1}/{n} panoramas")
    return {"panoramas": results}


# -- colour transfer -------------------------------------------------------------------------
def validate_colour_transfer(params: dict) -> dict:
    _known(params, {"reference", "space", "sigma_frames", "max_width", "sequence"})
    ref = params.get("reference")
    if isinstance(ref, bool) or not isinstance(ref, int):
        raise ParamsError("reference must be the id of the reference panorama")
    space = params.get("space", "linear")
    if space not in SPACES:
        raise ParamsError(f"space must be one of {SPACES}")
    return {
        "reference": ref,
        "space": space,
        "sigma_frames": _number(params, "sigma_frames", 0.0, 100.0, 2.0),
        "max_width": int(_number(params, "max_width", 256, MAX_WIDTH, 4096)),
        "sequence": _sequence_param(params),
    }


class ColourTransferForm(forms.Form):
    reference = forms.IntegerField(help_text="Id of the panorama whose colours are matched")
    space = forms.ChoiceField(
        choices=[
            ("linear", "Linear light, optimal-transport map (casts, exposure)"),
            ("lab", "CIELab mean/std (Reinhard; looks of other scenes)"),
        ]
    )
    sigma_frames = forms.FloatField(
        initial=2.0,
        min_value=0,
        max_value=100,
        help_text="Temporal smoothing of a sequence (frames)",
    )
    max_width = forms.IntegerField(initial=4096, min_value=256, max_value=MAX_WIDTH)
    sequence = forms.IntegerField(required=False, help_text="A sequence's id (else: selection)")

    def to_params(self) -> dict:
        return dict(self.cleaned_data)


@job_kind(
    "colour_transfer",
    queue="batch",
    label="Match colours to a reference…",
    validate=validate_colour_transfer,
    admin_form=ColourTransferForm,
    per_panorama=False,
)
def run_colour_transfer(job: Job, ctx: JobContext) -> dict:
    """Match the colours of a panorama or a sequence to a reference (temporally smooth)."""
    from annotations.models import Panorama

    from .colour import apply_transform, fit_transform, smooth_transforms

    params = job.params
    panoramas = ordered_frames(job)
    if len(panoramas) > MAX_FRAMES:
        raise JobError(f"at most {MAX_FRAMES} frames per colour-transfer job")
    ref_pano = Panorama.objects.filter(pk=params["reference"]).first()
    if ref_pano is None:
        raise JobError(f"reference panorama {params['reference']} not found")
    reference = _load(ref_pano, params["max_width"])
    n = len(panoramas)
    fitted = []
    for k, p in enumerate(panoramas):  # pass 1: one transform per frame
        ctx.check_cancelled()
        try:
            fitted.append(fit_transform(_load(p, params["max_width"]), reference, params["space"]))
        except ValueError as exc:
            raise JobError(f"panorama {p.pk}: {exc}") from exc
        ctx.progress(0.4 * (k + 1) / n, f"measured frame {k + 1}/{n}")
    smoothed = smooth_transforms(fitted, params["sigma_frames"])
    results = {}
    for k, (p, t) in enumerate(zip(panoramas, smoothed, strict=True)):  # pass 2: apply
        ctx.check_cancelled()
        rgb = _load(p, params["max_width"])
        out = apply_transform(rgb, t)
        meta = {**params, "frame": k, "affine": np.round(t.as_affine(), 6).tolist()}
        asset = ctx.save_asset(p, "colour_matched", "colour_matched.jpg", _jpeg(out), meta)
        ctx.save_asset(p, "colour_preview", "before_after.jpg", before_after(rgb, out), meta)
        results[str(p.pk)] = {"frame": k, "asset": asset.pk}
        ctx.progress(0.4 + 0.6 * (k + 1) / n, f"matched frame {k + 1}/{n}")
    return {"panoramas": results}
