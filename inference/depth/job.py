"""The "depth" job kind: params, the admin form, and the handler that stores the outputs.

Two estimators: ``model`` — a registered depth network (TorchScript or ONNX; the default as
soon as one is registered: the newest) — and ``prior`` — the geometric prior (flat ground,
far field), the same map for every photo. The prior is run only when asked for by name or
when no depth model is registered; its results say ``"measurement": false`` and its assets
``"source": "prior"``, and the UI labels it as a prior.

The estimators, the fusion pipeline and the output encoders load OpenCV and SciPy: they are
imported where a job runs, so registering the kind keeps a process light.
"""

from __future__ import annotations

import numpy as np
from django import forms

from ..job_inputs import read_pixels
from ..models import Job, ModelWeights
from ..registry import JobContext, JobError, ParamsError, job_kind
from .layouts import LAYOUTS

ESTIMATORS = ("prior", "model")
#: the name the prior had before it was called what it is (params of older jobs)
ALIASES = {"geometric": "prior"}
DEFAULTS = {
    "estimator": None,  # "model" when a depth model is registered, else "prior"
    "weights": None,
    "layout": None,  # cube for the geometric prior, icosa for models (see docs/jobs.md)
    "fov": None,
    "view_size": None,
    "fusion": "poisson",
    "camera_height": 1.6,
    "max_width": 4096,
    "pointcloud": True,
}


def validate_depth_params(params: dict) -> dict:
    """Defaults filled in; raises ParamsError with a clear message."""
    unknown = set(params) - set(DEFAULTS)
    if unknown:
        raise ParamsError(f"unknown depth params: {', '.join(sorted(unknown))}")
    p = {**DEFAULTS, **params}
    p["estimator"] = ALIASES.get(p["estimator"], p["estimator"])
    if p["weights"] is not None and (
        not isinstance(p["weights"], int) or isinstance(p["weights"], bool)
    ):
        raise ParamsError("weights must be the id of depth ModelWeights")
    if p["estimator"] is None:
        if p["weights"] is None:
            newest = newest_depth_model()
            p["weights"] = newest.pk if newest else None
        p["estimator"] = "model" if p["weights"] is not None else "prior"
    if p["estimator"] not in ESTIMATORS:
        raise ParamsError(f"estimator must be one of {ESTIMATORS}")
    if p["estimator"] == "model":
        if p["weights"] is None:
            newest = newest_depth_model()
            if newest is None:
                raise ParamsError(
                    "estimator 'model' needs depth model weights: none is registered (upload "
                    "a TorchScript or ONNX depth model, or run the geometric 'prior')"
                )
            p["weights"] = newest.pk
        weights = ModelWeights.objects.filter(pk=p["weights"]).first()
        if weights is None:
            raise ParamsError(f"model weights #{p['weights']} do not exist")
        if weights.task != "depth":
            raise ParamsError(f"model weights #{weights.pk} are for {weights.task}, not depth")
    else:
        p["weights"] = None
    if p["layout"] is None:
        p["layout"] = "icosa" if p["estimator"] == "model" else "cube"
    if p["layout"] not in LAYOUTS:
        raise ParamsError(f"layout must be one of {LAYOUTS}")
    if p["fov"] is not None and not (isinstance(p["fov"], int | float) and 30 <= p["fov"] < 170):
        raise ParamsError("fov must be a number of degrees in [30, 170) or null")
    if p["layout"] == "cube" and p["fov"] is not None and p["fov"] <= 90:
        raise ParamsError("cube faces must overlap: fov must be above 90")
    if p["view_size"] is not None and not (
        isinstance(p["view_size"], int) and 32 <= p["view_size"] <= 2048
    ):
        raise ParamsError("view_size must be an integer in 32..2048 or null")
    if p["fusion"] not in ("poisson", "average", "nearest"):
        raise ParamsError("fusion must be 'poisson', 'average' or 'nearest'")
    if not isinstance(p["camera_height"], int | float) or not 0.1 <= p["camera_height"] <= 100:
        raise ParamsError("camera_height must be in 0.1..100 metres")
    if not isinstance(p["max_width"], int) or not 64 <= p["max_width"] <= 16384:
        raise ParamsError("max_width must be an integer in 64..16384")
    p["pointcloud"] = bool(p["pointcloud"])
    return p


def newest_depth_model() -> ModelWeights | None:
    return ModelWeights.objects.filter(task="depth").order_by("-created_at", "-pk").first()


class DepthParamsForm(forms.Form):
    """Admin form of the depth action (same names as the params).

    With a depth model registered the form offers only the models: the geometric prior is
    not depth estimation. Without one it offers the prior, named for what it is.
    """

    estimator = forms.ChoiceField(choices=[("model", "Depth model")])
    weights = forms.ModelChoiceField(
        queryset=ModelWeights.objects.filter(task="depth"), required=False
    )
    layout = forms.ChoiceField(
        choices=[("", "default (cube; icosa for models)")] + [(x, x) for x in LAYOUTS],
        required=False,
    )
    fov = forms.FloatField(required=False, help_text="Degrees; empty = layout default")
    fusion = forms.ChoiceField(
        choices=[("poisson", "Poisson (gradient domain)"), ("average", "Feathered average")]
    )
    max_width = forms.IntegerField(initial=4096, min_value=64, max_value=16384)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if ModelWeights.objects.filter(task="depth").exists():
            self.fields["estimator"].choices = [("model", "Depth model (registered weights)")]
            self.fields["weights"].required = True
            self.fields["weights"].initial = newest_depth_model()
        else:
            self.fields["estimator"].choices = [
                ("prior", "Geometric prior: assumed ground and far field, not a measurement")
            ]
            del self.fields["weights"]

    def to_params(self) -> dict:
        data = dict(self.cleaned_data)
        weights = data.pop("weights", None)
        data["weights"] = weights.pk if weights else None
        if not data.get("layout"):
            data["layout"] = None
        return data


PRIOR_UNITS = "metres, assumed (geometric prior: not measured)"
PRIOR_NOTE = (
    "geometric prior, not a measurement: flat ground at the camera height below the horizon "
    "and a far field above; the same map for every photo"
)


def _estimator(params: dict):
    from .estimators import GeometricPriorEstimator, ModelEstimator

    if params["estimator"] == "prior":
        return GeometricPriorEstimator(camera_height=params["camera_height"])
    weights = ModelWeights.objects.filter(pk=params["weights"]).first()
    if weights is None:
        raise JobError(f"model weights {params['weights']} not found (deleted?)")
    if weights.task != "depth":
        raise JobError(f"model weights {weights.pk} are for {weights.task}, not depth")
    try:
        return ModelEstimator.from_weights(weights)
    except Exception as exc:
        raise JobError(f"could not load model weights {weights.pk} ({weights}): {exc}") from exc


def _load_rgb(panorama, max_width: int) -> np.ndarray:
    import cv2

    from annotations.imaging import tonemap_to_uint8

    rgb = tonemap_to_uint8(read_pixels(panorama))
    if rgb.shape[1] > max_width:
        rgb = cv2.resize(rgb, (max_width, max_width // 2), interpolation=cv2.INTER_AREA)
    if rgb.shape[1] != 2 * rgb.shape[0]:
        rgb = cv2.resize(rgb, (rgb.shape[1], rgb.shape[1] // 2), interpolation=cv2.INTER_AREA)
    return rgb


@job_kind(
    "depth",
    queue="batch",
    label="Compute depth (a registered model; the geometric prior without one)",
    validate=validate_depth_params,
    admin_form=DepthParamsForm,
)
def run_depth(job: Job, ctx: JobContext) -> dict:
    """360° depth by fusing perspective depth (or the geometric prior): depth NPY/EXR,
    preview, normals, point cloud."""
    from .outputs import exr_bytes, normals_from_distance, npy_bytes, ply_bytes, preview_png
    from .pipeline import DepthOptions, estimate_depth

    params = job.params
    panoramas = list(job.panoramas.all())
    if not panoramas and job.project_id:
        panoramas = list(job.project.panoramas.all())
    if not panoramas:
        raise JobError("no panoramas to process")
    estimator = _estimator(params)
    options = DepthOptions(
        layout=params["layout"],
        fov=params["fov"],
        view_size=params["view_size"],
        fusion=params["fusion"],
    )
    results = {}
    n = len(panoramas)
    for k, panorama in enumerate(panoramas):
        ctx.check_cancelled()
        base = k / n

        def report(fraction: float, message: str, base=base, panorama=panorama) -> None:
            ctx.progress(base + fraction / n, f"panorama {panorama.pk}: {message}")

        rgb = _load_rgb(panorama, params["max_width"])
        try:
            result = estimate_depth(rgb, estimator, options, progress=report)
        except ValueError as exc:
            raise JobError(f"depth estimation failed on panorama {panorama.pk}: {exc}") from exc
        ctx.check_cancelled()
        distance = result.distance
        prior = params["estimator"] == "prior"
        meta = {
            **params,
            **{key: val for key, val in result.info.items() if key != "solves"},
            "width": int(distance.shape[1]),
            "height": int(distance.shape[0]),
            "source": "prior" if prior else "model",
            "measurement": not prior,
            "units": PRIOR_UNITS if prior else "relative (one unknown global scale)",
            "depth": "distance along the ray, float32",
        }
        assets = {}
        assets["depth"] = ctx.save_asset(panorama, "depth", "depth.npy", npy_bytes(distance), meta)
        assets["depth_exr"] = ctx.save_asset(
            panorama, "depth_exr", "depth.exr", exr_bytes(distance), meta
        )
        assets["depth_preview"] = ctx.save_asset(
            panorama, "depth_preview", "depth_preview.png", preview_png(distance), meta
        )
        normals = normals_from_distance(distance)
        assets["normals"] = ctx.save_asset(
            panorama, "normals", "normals.npy", npy_bytes(normals), meta
        )
        if params["pointcloud"]:
            assets["pointcloud"] = ctx.save_asset(
                panorama, "pointcloud", "pointcloud.ply", ply_bytes(distance, rgb), meta
            )
        results[str(panorama.pk)] = {
            "assets": {kind: asset.pk for kind, asset in assets.items()},
            "timings": {key: round(v, 3) for key, v in result.timings.items()},
            "alignment_rms": result.info["alignment_rms"],
        }
        ctx.progress((k + 1) / n, f"{k + 1}/{n} panoramas done")
    out = {
        "panoramas": results,
        "estimator": getattr(estimator, "name", ""),
        "source": "prior" if params["estimator"] == "prior" else "model",
        "measurement": params["estimator"] != "prior",
    }
    if params["estimator"] == "prior":
        out["note"] = PRIOR_NOTE
    return out
