"""The "cameraman" job kind: params, the admin form ("Remove cameraman…") and the handler.

For every panorama: build the mask (the polygons of a chosen class, or an automatic nadir
cap), remove (:func:`inference.cameraman.remove.remove`) and store three derived assets:
``cleaned`` (lossless panorama), ``cleaned_mask`` (PNG of the replaced pixels) and
``cleaned_preview`` (before/after JPEG).

The removal modules (:mod:`.inpaint`, :mod:`.mask`, :mod:`.outputs`, :mod:`.remove`) load
OpenCV: they are imported where a job runs or its params are checked, so registering the kind
keeps a process light.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
from django import forms

from annotations.models import Instance, LabelClass

from ..models import Job, ModelWeights
from ..registry import JobContext, JobError, ParamsError, job_kind
from .choices import METHODS

if TYPE_CHECKING:
    from .inpaint import ModelInpainter

MASKS = ("cap", "class")
DEFAULTS = {
    "mask": "cap",
    "cap_deg": 30.0,
    "label_class": None,
    "grow_px": 4,
    "method": "blend",
    "weights": None,
    "margin_deg": 20.0,
    "patch": 7,
    "fine_iterations": 0,
    "detail_deg": 2.0,
    "seed": 0,
}


def _number(p: dict, key: str, lo: float, hi: float, integer: bool = False) -> None:
    value = p[key]
    kinds = int if integer else int | float
    if isinstance(value, bool) or not isinstance(value, kinds) or not lo <= value <= hi:
        what = "an integer" if integer else "a number"
        raise ParamsError(f"{key} must be {what} in {lo}..{hi}")
    p[key] = int(value) if integer else float(value)


def validate_cameraman_params(params: dict) -> dict:
    """Defaults filled in; raises ParamsError with a clear message."""
    unknown = set(params) - set(DEFAULTS)
    if unknown:
        raise ParamsError(f"unknown cameraman params: {', '.join(sorted(unknown))}")
    p = {**DEFAULTS, **params}
    if p["mask"] not in MASKS:
        raise ParamsError(f"mask must be one of {MASKS}")
    if p["mask"] == "class":
        value = p["label_class"]
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParamsError("mask 'class' needs 'label_class': the id of a label class")
    else:
        p["label_class"] = None
    _number(p, "cap_deg", 1, 80)
    _number(p, "grow_px", 0, 64, integer=True)
    _number(p, "margin_deg", 2, 60)
    _number(p, "patch", 3, 15, integer=True)
    if p["patch"] % 2 == 0:
        raise ParamsError("patch must be odd")
    _number(p, "fine_iterations", 0, 5, integer=True)
    _number(p, "detail_deg", 0.1, 10)
    _number(p, "seed", 0, 2**31 - 1, integer=True)
    if p["method"] not in METHODS:
        raise ParamsError(f"method must be one of {METHODS}")
    if p["method"] == "model":
        if isinstance(p["weights"], bool) or not isinstance(p["weights"], int):
            raise ParamsError("method 'model' needs 'weights': the id of inpainting ModelWeights")
    else:
        p["weights"] = None
    return p


class CameramanParamsForm(forms.Form):
    """Admin form of the "Remove cameraman…" action (same names as the params)."""

    mask = forms.ChoiceField(
        choices=[("cap", "Automatic nadir cap"), ("class", "Polygons of a class")]
    )
    cap_deg = forms.FloatField(
        initial=30.0, min_value=1, max_value=80, help_text="Cap radius from the nadir (degrees)"
    )
    label_class = forms.ModelChoiceField(
        queryset=LabelClass.objects.select_related("project"),
        required=False,
        help_text="For 'Polygons of a class': e.g. an ignore or cameraman class",
    )
    grow_px = forms.IntegerField(initial=4, min_value=0, max_value=64, help_text="Grow the mask")
    method = forms.ChoiceField(
        choices=[
            ("blend", "Smooth structure + exemplar texture (best on most ground)"),
            ("patch", "Exemplar only (regular textures: tiles, paving, grids)"),
            ("smooth", "Smooth only (edges carried across, no texture)"),
            ("model", "TorchScript inpainting model"),
        ]
    )
    weights = forms.ModelChoiceField(
        queryset=ModelWeights.objects.filter(task="inpainting"), required=False
    )
    detail_deg = forms.FloatField(
        label="Texture detail (degrees)",
        initial=2.0,
        min_value=0.1,
        max_value=10,
        required=False,
        help_text="For 'Smooth structure + exemplar texture': texture finer than this angle "
        "comes from the exemplar; larger looks more textured and scores a little lower",
    )

    def clean(self):
        data = super().clean()
        if data.get("mask") == "class" and not data.get("label_class"):
            self.add_error("label_class", "Pick the class whose polygons are removed.")
        if data.get("method") == "model" and not data.get("weights"):
            self.add_error("weights", "Pick inpainting model weights.")
        return data

    def to_params(self) -> dict:
        data = dict(self.cleaned_data)
        label_class, weights = data.pop("label_class"), data.pop("weights")
        data["label_class"] = label_class.pk if label_class else None
        data["weights"] = weights.pk if weights else None
        if data.get("detail_deg") is None:
            data.pop("detail_deg", None)
        return data


def load_model(params: dict) -> ModelInpainter | None:
    if params["method"] != "model":
        return None
    from .inpaint import ModelInpainter

    weights = ModelWeights.objects.filter(pk=params["weights"]).first()
    if weights is None:
        raise JobError(f"model weights {params['weights']} not found (deleted?)")
    if weights.task != "inpainting":
        raise JobError(f"model weights {weights.pk} are for {weights.task}, not inpainting")
    try:
        return ModelInpainter.from_weights(weights)
    except Exception as exc:
        raise JobError(f"could not load model weights {weights.pk} ({weights}): {exc}") from exc


def class_of(params: dict, project_id: int) -> LabelClass:
    label_class = LabelClass.objects.filter(pk=params["label_class"]).first()
    if label_class is None:
        raise JobError(f"label class {params['label_class']} not found (deleted?)")
    if label_class.project_id != project_id:
        raise JobError(
            f"label class '{label_class.name}' belongs to another project than the panorama"
        )
    return label_class


def mask_for(panorama, params: dict, width: int, height: int) -> np.ndarray:
    """The mask of one panorama; JobError when a class mask has nothing to remove.

    A cap is grown exactly (a wider cap: ``grow_px`` rows are ``grow_px`` pixels of angle),
    so the removal is then told not to grow it again."""
    from .mask import cap_mask, polygon_mask

    if params["mask"] == "cap":
        grown = params["cap_deg"] + params["grow_px"] * 180.0 / height
        return cap_mask(width, height, min(grown, 89.0))
    label_class = class_of(params, panorama.project_id)
    geometries = list(
        Instance.objects.filter(
            panorama=panorama, label_class=label_class, is_suggestion=False
        ).values_list("geometry", flat=True)
    )
    geometries = [g for g in geometries if g]
    if not geometries:
        raise JobError(
            f"panorama {panorama.pk} ({panorama}) has no polygons of class "
            f"'{label_class.name}' to remove; draw them or use the nadir cap"
        )
    return polygon_mask(geometries, width, height)


def load_pixels_or_fail(panorama) -> np.ndarray:
    from annotations.imaging import load_pixels

    try:
        return load_pixels(panorama)
    except Exception as exc:
        raise JobError(f"could not read panorama {panorama.pk} ({panorama}): {exc}") from exc


def job_panoramas(job: Job) -> list:
    panoramas = list(job.panoramas.all())
    if not panoramas and job.project_id:
        panoramas = list(job.project.panoramas.all())
    return panoramas


@job_kind(
    "cameraman",
    queue="batch",
    label="Remove cameraman…",
    validate=validate_cameraman_params,
    admin_form=CameramanParamsForm,
)
def run_cameraman(job: Job, ctx: JobContext) -> dict:
    """Remove the camera operator or tripod at the nadir: cleaned panorama, mask, preview."""
    from .inpaint import InpaintError
    from .outputs import image_bytes, mask_png, preview_jpeg
    from .remove import options_from, remove

    params = job.params
    panoramas = job_panoramas(job)
    if not panoramas:
        raise JobError("no panoramas to process")
    model = load_model(params)
    options = options_from(params)
    results = {}
    n = len(panoramas)
    for k, panorama in enumerate(panoramas):
        ctx.check_cancelled()
        pixels = load_pixels_or_fail(panorama)
        mask = mask_for(panorama, params, pixels.shape[1], pixels.shape[0])
        run_options = replace(options, grow_px=0) if params["mask"] == "cap" else options

        def report(fraction: float, message: str, k=k, panorama=panorama) -> None:
            ctx.progress((k + 0.1 + 0.8 * fraction) / n, f"panorama {panorama.pk}: {message}")

        try:
            result = remove(pixels, mask, run_options, model, report)
        except (InpaintError, ValueError) as exc:
            raise JobError(
                f"could not remove the cameraman from panorama {panorama.pk}: {exc}"
            ) from exc
        ctx.check_cancelled()
        meta = {**params, **result.info, "timings": result.timings}
        name, data = image_bytes(result.image)
        assets = {
            "cleaned": ctx.save_asset(panorama, "cleaned", name, data, meta),
            "cleaned_mask": ctx.save_asset(
                panorama, "cleaned_mask", "mask.png", mask_png(result.mask), meta
            ),
            "cleaned_preview": ctx.save_asset(
                panorama,
                "cleaned_preview",
                "before_after.jpg",
                preview_jpeg(pixels, result.image, result.mask),
                meta,
            ),
        }
        results[str(panorama.pk)] = {
            "assets": {kind: asset.pk for kind, asset in assets.items()},
            "mask_pixels": result.info["mask_pixels"],
            "timings": result.timings,
        }
        ctx.progress((k + 1) / n, f"{k + 1}/{n} panoramas cleaned")
    return {"panoramas": results}


from . import video_job  # noqa: E402,F401  (registers "cameraman_video"; it imports this module)
