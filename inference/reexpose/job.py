"""The "reexpose" job kind: params, the admin form ("Recover HDR / re-expose…"), the handler.

Per panorama it stores (derived assets, newest version replaces older ones):

* ``hdr_radiance`` — linear radiance, float32 RGB EXR (1.0 = the input's clipping point), in
  the panorama's own frame (the workspace's exposure control reads it);
* ``hdr_ev_<m|p><n>_preview`` — one JPEG per EV step, the radiance re-exposed;
* ``hdr_response`` — the inverse camera response as a PNG chart;
* ``hdr_clipped_mask`` — PNG, white where at least one channel was clipped and rebuilt.

A panorama that is already HDR (stored radiance, Radiance HDR or OpenEXR) is passed through:
its radiance is stored as it is (no recovery) with the previews, and the job result says so.

``fill: "model"`` with ``weights`` (the id of registry weights of task ``hdr``) rebuilds the
clipped regions with that model instead of the sky model and expand bumps (contract in
:mod:`inference.model_contracts`).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np
from django import forms
from PIL import Image

from ..job_inputs import read_pixels
from ..models import Job, ModelTask, ModelWeights
from ..registry import JobContext, JobError, ParamsError, job_kind
from .choices import RESPONSES, SCENES

if TYPE_CHECKING:
    from ..model_contracts import HdrModel

FILLS = ("classical", "model")
DEFAULTS = {
    "response": "estimate",
    "gamma": 2.2,
    "scene": "auto",
    "ev_steps": [-4, -2, 0, 2],
    "max_boost_ev": 3.0,
    "max_width": 4096,
    "fill": "classical",
    "weights": None,
}
MAX_EV_STEPS = 9


def _number(p: dict, key: str, low: float, high: float, integer: bool = False) -> None:
    value = p[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ParamsError(f"{key} must be a number")
    if integer and not float(value).is_integer():
        raise ParamsError(f"{key} must be an integer")
    if not low <= value <= high:
        raise ParamsError(f"{key} must be between {low} and {high}")
    p[key] = int(value) if integer else float(value)


def validate_reexpose_params(params: dict) -> dict:
    """Defaults filled in; raises ParamsError with a clear message."""
    params = {k: v for k, v in params.items() if v is not None and v != ""}
    unknown = set(params) - set(DEFAULTS)
    if unknown:
        raise ParamsError(f"unknown reexpose params: {', '.join(sorted(map(str, unknown)))[:200]}")
    p = {**DEFAULTS, **params}
    if p["response"] not in RESPONSES:
        raise ParamsError(f"response must be one of {', '.join(RESPONSES)}")
    if p["scene"] not in SCENES:
        raise ParamsError(f"scene must be one of {', '.join(SCENES)}")
    if p["fill"] not in FILLS:
        raise ParamsError(f"fill must be one of {', '.join(FILLS)}")
    if p["fill"] == "model":
        if isinstance(p["weights"], bool) or not isinstance(p["weights"], int):
            raise ParamsError("fill 'model' needs 'weights': the id of ModelWeights of task hdr")
    else:
        p["weights"] = None
    _number(p, "gamma", 1.0, 3.5)
    _number(p, "max_boost_ev", 0.0, 8.0)
    _number(p, "max_width", 64, 16384, integer=True)
    steps = p["ev_steps"]
    if isinstance(steps, str):  # the admin form's text field: "-2, 0, 2"
        try:
            steps = [float(s) for s in steps.replace(";", ",").split(",") if s.strip()]
        except ValueError as exc:
            raise ParamsError("ev_steps must be numbers separated by commas") from exc
    if not isinstance(steps, list) or not 1 <= len(steps) <= MAX_EV_STEPS:
        raise ParamsError(f"ev_steps must be a list of 1..{MAX_EV_STEPS} numbers")
    clean = []
    for step in steps:
        if isinstance(step, bool) or not isinstance(step, int | float) or not -8 <= step <= 8:
            raise ParamsError("each EV step must be a number in -8..8")
        clean.append(round(float(step) * 2) / 2)  # half stops: the asset kinds stay few
    p["ev_steps"] = sorted(set(clean))
    return p


class ReexposeParamsForm(forms.Form):
    """Admin form of "Recover HDR / re-expose…" (same names as the params)."""

    response = forms.ChoiceField(
        choices=[
            ("estimate", "Unknown: estimate from the image (falls back to sRGB)"),
            ("srgb", "sRGB"),
            ("gamma", "Gamma (below)"),
        ]
    )
    gamma = forms.FloatField(initial=2.2, min_value=1.0, max_value=3.5, required=False)
    scene = forms.ChoiceField(
        choices=[
            ("auto", "Detect (sky model if it fits)"),
            ("outdoor", "Outdoor"),
            ("indoor", "Indoor"),
        ]
    )
    ev_steps = forms.CharField(
        initial="-4, -2, 0, 2", help_text="Preview exposures in stops, separated by commas"
    )
    max_boost_ev = forms.FloatField(
        initial=3.0,
        min_value=0.0,
        max_value=8.0,
        help_text="Most stops a clipped region that is not the sun may rise above the clip",
    )
    max_width = forms.IntegerField(initial=4096, min_value=64, max_value=16384)
    fill = forms.ChoiceField(
        choices=[
            ("classical", "Sky model and smooth expand (built in)"),
            ("model", "Registered HDR model (below)"),
        ],
        required=False,
        initial="classical",
        help_text="What rebuilds the clipped regions",
    )
    weights = forms.ModelChoiceField(
        queryset=ModelWeights.objects.filter(task=ModelTask.HDR),
        required=False,
        help_text="For 'Registered HDR model': weights of task hdr",
    )

    def clean(self):
        data = super().clean()
        if data.get("fill") == "model" and not data.get("weights"):
            self.add_error("weights", "Pick HDR reconstruction model weights (task hdr).")
        return data

    def to_params(self) -> dict:
        data = dict(self.cleaned_data)
        if data.get("gamma") is None:
            data.pop("gamma", None)
        weights = data.pop("weights", None)
        data["fill"] = data.get("fill") or "classical"
        data["weights"] = weights.pk if weights and data["fill"] == "model" else None
        return data


def load_fill_model(params: dict) -> HdrModel | None:
    """The registered HDR model the params pick (None for the classical fill); JobError when
    it is missing, for another task or does not load."""
    if params.get("fill") != "model":
        return None
    weights = ModelWeights.objects.filter(pk=params["weights"]).first()
    if weights is None:
        raise JobError(f"model weights {params['weights']} not found (deleted?)")
    if weights.task != ModelTask.HDR:
        raise JobError(
            f"model weights {weights.pk} ({weights}) are for the task '{weights.task}', not "
            "'hdr' (HDR reconstruction): pick weights uploaded for task hdr"
        )
    try:
        return weights.build()
    except Exception as exc:  # ContractError, a missing file, a model that no longer loads
        raise JobError(f"could not load model weights {weights.pk} ({weights}): {exc}") from exc


def ev_kind(ev: float) -> str:
    """The asset kind of the preview at ``ev`` stops (e.g. -2 → hdr_ev_m2_preview)."""
    sign = "m" if ev < 0 else "p"
    text = f"{abs(ev):g}".replace(".", "_")
    return f"hdr_ev_{sign}{text}_preview"


def _load(panorama, max_width: int) -> np.ndarray:
    pixels = read_pixels(panorama)
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
    pixels = np.ascontiguousarray(pixels[:, :, :3])
    h, w = pixels.shape[:2]
    width = min(w, max_width)
    width -= width % 2
    if (width, width // 2) != (w, h):
        import cv2

        pixels = cv2.resize(pixels, (width, width // 2), interpolation=cv2.INTER_AREA)
    return pixels


def _png(mask: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8) * 255).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


@job_kind(
    "reexpose",
    queue="batch",
    label="Recover HDR / re-expose…",
    validate=validate_reexpose_params,
    admin_form=ReexposeParamsForm,
)
def run_reexpose(job: Job, ctx: JobContext) -> dict:
    """HDR radiance from 8-bit panoramas: linear EXR, re-exposed previews, response plot."""
    # the pipeline, the model contract and the encoders load OpenCV and SciPy: imported here,
    # so registering the kind keeps every process light
    from ..model_contracts import ContractError
    from .outputs import exr_bytes, preview_jpeg, response_plot_png
    from .pipeline import InputError, RecoverOptions, recover_hdr

    params = job.params
    panoramas = list(job.panoramas.all())
    if not panoramas and job.project_id:
        panoramas = list(job.project.panoramas.all())
    if not panoramas:
        raise JobError("no panoramas to process")
    options = RecoverOptions(
        response=params["response"],
        gamma=params["gamma"],
        scene=params["scene"],
        max_boost_ev=params["max_boost_ev"],
    )
    fill_model = load_fill_model(params)
    results = {}
    n = len(panoramas)
    for k, panorama in enumerate(panoramas):
        ctx.check_cancelled()

        def report(fraction: float, message: str, k=k, panorama=panorama) -> None:
            ctx.progress((k + 0.9 * fraction) / n, f"panorama {panorama.pk}: {message}")

        pixels = _load(panorama, params["max_width"])
        meta = {key: params[key] for key in ("response", "scene", "max_boost_ev")}
        meta["fill"] = params.get("fill", "classical")
        if fill_model is not None:
            meta["fill_weights"] = params["weights"]
        if np.issubdtype(pixels.dtype, np.floating):
            radiance = np.nan_to_num(np.maximum(pixels, 0), nan=0.0, posinf=0.0)
            radiance = radiance.astype(np.float32)
            note = (
                "already HDR (stored radiance): passed through without recovery; the EXR "
                "holds the stored radiance"
            )
            recovery = None
        else:
            try:
                recovery = recover_hdr(pixels, options, progress=report, fill_model=fill_model)
            except InputError as exc:
                raise JobError(f"panorama {panorama.pk} ({panorama}): {exc}") from exc
            except ContractError as exc:
                raise JobError(
                    f"panorama {panorama.pk} ({panorama}): model weights {params['weights']} "
                    f"broke the hdr contract: {exc}"
                ) from exc
            radiance = recovery.radiance
            note = ""
        ctx.check_cancelled()
        meta.update(width=int(radiance.shape[1]), height=int(radiance.shape[0]))
        if recovery is not None:
            meta.update(
                response_curve=recovery.response.describe(),
                scene_found=recovery.info.get("scene", ""),
                clipped_fraction=round(recovery.info.get("clipped_fraction", 0.0), 5),
                units="linear, 1.0 = the clipping point of the input exposure",
            )
            if recovery.sun is not None:
                lon, lat = recovery.sky.sun_lonlat()
                meta.update(sun_lon=round(lon, 3), sun_lat=round(lat, 3))
        else:
            meta.update(passed_through=True, units="the stored radiance")
        assets = {
            "hdr_radiance": ctx.save_asset(
                panorama, "hdr_radiance", "radiance.exr", exr_bytes(radiance), meta
            ).pk
        }
        for ev in params["ev_steps"]:
            kind = ev_kind(ev)
            data = preview_jpeg(radiance, ev)
            assets[kind] = ctx.save_asset(
                panorama, kind, f"ev{ev:+g}.jpg", data, {**meta, "ev": ev}
            ).pk
        if recovery is not None:
            assets["hdr_response"] = ctx.save_asset(
                panorama,
                "hdr_response",
                "response.png",
                response_plot_png(recovery.response),
                {**meta, "response": recovery.response.as_dict()},
            ).pk
            assets["hdr_clipped_mask"] = ctx.save_asset(
                panorama,
                "hdr_clipped_mask",
                "clipped.png",
                _png(recovery.clipped.any(axis=2)),
                meta,
            ).pk
        results[str(panorama.pk)] = {
            "assets": assets,
            "note": note,
            **{k: v for k, v in meta.items() if k not in params},
            "timings": (
                {key: round(v, 3) for key, v in recovery.timings.items()} if recovery else {}
            ),
        }
        ctx.progress((k + 1) / n, f"{k + 1}/{n} panoramas done")
    return {"panoramas": results}
