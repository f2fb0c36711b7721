"""Job kinds of pre-labelling (batch queue: they never block annotators).

* ``prelabel_train`` (project): trains the project model on the project's approved and
  submitted panoramas (or the job's panoramas), reports loss and validation spherical mIoU
  as progress, stores TorchScript weights as a ``ModelWeights`` row (task
  ``semantic_segmentation``) and makes it the project's model.
* ``prelabel`` (per panorama, or all panoramas of the job's project): predicts with the
  project model or an uploaded instance-segmentation model (``params.weights``) and stores
  the result as suggestions, replacing earlier unaccepted suggestions only.

The model, sampling and merging modules (torch, OpenCV, SciPy) are imported where a job runs
or its params are checked, so registering the kinds keeps a process light.
"""

from __future__ import annotations

import time

import numpy as np
from django import forms
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile

from annotations.imaging import load_pixels, tonemap_to_uint8
from annotations.models import Instance, LabelClass, Panorama
from inference.models import ModelWeights
from inference.registry import JobError, ParamsError, job_kind

from . import prompt  # noqa: F401  (registers the interactive_embedding job kind)
from .store import (
    class_mapping,
    project_model,
    remember_suggestion_model,
    store_suggestions,
)

TRAIN_STATUSES = ("approved", "submitted")
MAX_TRAIN_WIDTH = 2048


# -- params ---------------------------------------------------------------------------------
def _number(params: dict, key: str, kind: type, low: float, high: float) -> None:
    if key in params and params[key] is not None:
        try:
            value = kind(params[key])
        except (TypeError, ValueError) as exc:
            raise ParamsError(f"{key} must be a number") from exc
        if not low <= value <= high:
            raise ParamsError(f"{key} must be between {low} and {high}")
        params[key] = value


def validate_train_params(params: dict) -> dict:
    from .training import TrainConfig  # the model modules import torch: only when needed
    from .versions import ACTIVATE

    params = {k: v for k, v in params.items() if v is not None}  # empty admin form fields
    allowed = {
        "iterations",
        "views_per_panorama",
        "view_size",
        "width",
        "seed",
        "panorama_width",
        "validations",
        "predict_view_size",
        "hfov_min",
        "hfov_max",
        "focus_fraction",
        "pole_fraction",
        "class_weight_power",
        "activate",
    }
    unknown = set(params) - allowed
    if unknown:
        raise ParamsError(f"unknown params: {', '.join(sorted(unknown))}")
    _number(params, "iterations", int, 10, 100000)
    _number(params, "views_per_panorama", int, 1, 1000)
    _number(params, "view_size", int, 32, 512)
    _number(params, "width", int, 4, 64)
    _number(params, "seed", int, 0, 2**31)
    _number(params, "validations", int, 1, 100)
    _number(params, "panorama_width", int, 128, 8192)
    _number(params, "predict_view_size", int, 32, 1024)
    _number(params, "hfov_min", float, 10, 150)
    _number(params, "hfov_max", float, 10, 150)
    _number(params, "focus_fraction", float, 0, 1)
    _number(params, "pole_fraction", float, 0, 1)
    _number(params, "class_weight_power", float, 0, 2)
    for key in ("view_size", "predict_view_size"):
        if params.get(key, 128) % 8:
            raise ParamsError(f"{key} must be a multiple of 8")
    if params.get("activate", "if_not_worse") not in ACTIVATE:
        raise ParamsError(f"activate must be one of {', '.join(ACTIVATE)}")
    d = TrainConfig()
    if params.get("hfov_min", d.hfov_min) > params.get("hfov_max", d.hfov_max):
        raise ParamsError("hfov_min must not exceed hfov_max")
    if (
        params.get("focus_fraction", d.focus_fraction)
        + params.get("pole_fraction", d.pole_fraction)
        > 1
    ):
        raise ParamsError("focus_fraction + pole_fraction must not exceed 1")
    return params


def validate_prelabel_params(params: dict) -> dict:
    params = {k: v for k, v in params.items() if v is not None}
    allowed = {
        "weights",
        "min_score",
        "tolerance_deg",
        "view_size",
        "grid_width",
        "flip",
        "time_budget_s",
        "min_class_precision",
    }
    unknown = set(params) - allowed
    if unknown:
        raise ParamsError(f"unknown params: {', '.join(sorted(unknown))}")
    _number(params, "weights", int, 1, 2**62)
    _number(params, "min_score", float, 0.0, 1.0)
    _number(params, "tolerance_deg", float, 0.01, 5.0)
    _number(params, "view_size", int, 32, 1024)
    _number(params, "grid_width", int, 128, 8192)
    _number(params, "time_budget_s", float, 1.0, 3600.0)
    _number(params, "min_class_precision", float, 0.0, 1.0)
    if "flip" in params and not isinstance(params["flip"], bool):
        raise ParamsError("flip must be true or false")
    if "weights" in params:
        weights = ModelWeights.objects.filter(pk=params["weights"]).first()
        if weights is None:
            raise ParamsError(f"model weights #{params['weights']} do not exist")
        if weights.task not in ("semantic_segmentation", "instance_segmentation"):
            raise ParamsError(
                f"model weights #{weights.pk} are for {weights.task}; pre-labelling takes "
                "semantic or instance segmentation"
            )
    return params


class TrainForm(forms.Form):
    iterations = forms.IntegerField(required=False, min_value=10, initial=2500)
    views_per_panorama = forms.IntegerField(required=False, min_value=1, initial=96)
    activate = forms.ChoiceField(
        choices=[
            ("if_not_worse", "if not worse on the validation panoramas"),
            ("always", "always (replace the active version)"),
            ("never", "never (activate it later)"),
        ],
        initial="if_not_worse",
    )


class PrelabelForm(forms.Form):
    weights = forms.IntegerField(
        required=False, help_text="ModelWeights id (default: the project model)"
    )
    min_score = forms.FloatField(required=False, min_value=0.0, max_value=1.0, initial=0.0)


# -- helpers --------------------------------------------------------------------------------
def panorama_rgb(panorama: Panorama, max_width: int | None = None) -> np.ndarray:
    """uint8 RGB equirect pixels of a panorama (tone-mapped; optionally downsized)."""
    import cv2

    rgb = tonemap_to_uint8(load_pixels(panorama))
    if max_width and rgb.shape[1] > max_width:
        rgb = cv2.resize(rgb, (max_width, max_width // 2), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(rgb)


def model_classes(project) -> list[str]:
    """Trained class names: background first, then the project's non-ignore classes."""
    names = LabelClass.objects.filter(project=project, is_ignore=False).values_list(
        "name", flat=True
    )
    return ["background", *names]


def labelled(panorama: Panorama, class_names: list[str], width: int | None):
    """(LabelledPanorama for training, truth items for validation) of one panorama."""
    from .samples import IGNORE, LabelledPanorama

    index = {name: k for k, name in enumerate(class_names)}
    items, truth = [], []
    for inst in (
        Instance.objects.filter(panorama=panorama, is_suggestion=False)
        .select_related("label_class")
        .order_by("order", "id")
    ):
        if inst.label_class.is_ignore:
            items.append((IGNORE, inst.geometry))
        elif inst.label_class.name in index:
            items.append((index[inst.label_class.name], inst.geometry))
            truth.append((inst.label_class.name, inst.geometry))
    rgb = panorama_rgb(panorama, width)
    return LabelledPanorama(rgb, items), (rgb, truth)


def _targets(job) -> list[Panorama]:
    panoramas = list(job.panoramas.all().order_by("id"))
    if not panoramas and job.project_id:
        panoramas = list(Panorama.objects.filter(project_id=job.project_id).order_by("id"))
    return panoramas


# -- job kinds ------------------------------------------------------------------------------
@job_kind(
    "prelabel_train",
    queue="batch",
    label="Train the pre-labelling model",
    validate=validate_train_params,
    admin_form=TrainForm,
    admin_targets=("project",),
    per_panorama=False,
)
def train_job(job, ctx) -> dict:
    """Train the project's pre-labelling model on approved/submitted panoramas."""
    from .predict import SemanticPredictor
    from .training import TrainConfig, train_project_model
    from .versions import activate, decide, evaluate, validation_record

    project = job.project
    if project is None:
        raise JobError("prelabel_train needs a project")
    chosen = job.panoramas.all() if job.panoramas.exists() else project.panoramas.all()
    panoramas = [
        p
        for p in chosen.filter(status__in=TRAIN_STATUSES).order_by("id")
        if p.instances.filter(is_suggestion=False).exists()
    ]
    if not panoramas:
        raise JobError("no approved or submitted panoramas with annotations to train on")
    class_names = model_classes(project)
    if len(class_names) < 2:
        raise JobError("the project has no (non-ignore) label classes")
    width = min(int(job.params.get("panorama_width", 1024)), MAX_TRAIN_WIDTH)
    data = [labelled(p, class_names, width) for p in panoramas]
    n_val = len(data) // 10 if len(data) >= 5 else 0
    train = [d[0] for d in data[: len(data) - n_val]]
    val = [d[1] for d in data[len(data) - n_val :]] if n_val else [data[-1][1]]
    val_ids = [p.pk for p in panoramas[len(data) - n_val :]] if n_val else [panoramas[-1].pk]
    policy = job.params.get("activate", "if_not_worse")
    params = {k: v for k, v in job.params.items() if k not in ("panorama_width", "activate")}
    config = TrainConfig.from_params(params)

    def report(fraction: float, message: str) -> None:
        ctx.progress(0.85 * fraction, message)

    result = train_project_model(train, class_names, val, config, report=report)
    ctx.check_cancelled()
    # score the new model and the active one on the SAME validation panoramas
    size = config.predict_view_size
    ctx.progress(0.86, "scoring the new version on the validation panoramas")
    new_eval = evaluate(
        SemanticPredictor(result.model, class_names, size, flip=True), val, config.val_grid_width
    )
    current = project_model(project)
    old_eval = None
    if current is not None and list(current.class_names or []) == class_names:
        ctx.progress(0.93, f"scoring the active version {current.version} on the same panoramas")
        try:
            old = build_predictor(current, project, {"view_size": current.input_size})
            old_eval = evaluate(old, val, config.val_grid_width)
        except JobError:
            old_eval = None  # the active version cannot run any more: nothing to compare
    ctx.check_cancelled()
    version = f"p{project.pk}-j{job.pk}"
    weights = ModelWeights(
        name=f"{project.name} pre-label",
        task="semantic_segmentation",
        input_size=size,
        mean=[],
        std=[],
        class_names=class_names,
        output="inverse",
        version=version,
        project=project,
        validation=validation_record(new_eval),
        provenance={
            "job": job.pk,
            "trained_on": (
                f"{len(train)} approved/submitted panorama(s) of project {project.name}"
            ),
            "panoramas": len(train),
            "panorama_ids": [p.pk for p in panoramas[: len(data) - n_val]][:1000],
            "validation_panorama_ids": val_ids,
            "validation_overlaps_training": not n_val,
            "iterations": config.iterations,
            "view_size": config.view_size,
            "width": config.width,
            "requester": job.requester.username if job.requester_id else "",
        },
    )
    weights.file.save(f"prelabel-{version}.pt", ContentFile(result.torchscript), save=False)
    weights.save()
    activated, why = decide(new_eval, old_eval, policy)
    if activated:
        activate(project, weights, by=weights.provenance["requester"], reason=why)
    return {
        "weights": weights.pk,
        "version": version,
        "activated": activated,
        "activation": why,
        "active": project_model(project).pk if project_model(project) else None,
        "compared_with": (
            {"weights": current.pk, "version": current.version, **old_eval.to_json()}
            if old_eval is not None
            else None
        ),
        "panoramas": len(train),
        "validation_panoramas": n_val or 1,
        "val_miou": new_eval.miou,
        "val_iou": new_eval.iou,
        "calibrated": weights.validation["calibration"]["fitted"],
        "history": result.history[-20:],
        "seconds": round(result.seconds, 1),
    }


def build_predictor(weights: ModelWeights, project, params: dict):
    """A predictor for the weights, checked against its contract (JobError if broken)."""
    from .contract import ContractError, InstancePredictor, semantic_module
    from .predict import SemanticPredictor

    names = list(weights.class_names or [])
    if weights.task == "semantic_segmentation":
        size = int(params.get("view_size") or weights.input_size)
        size -= size % 8
    elif weights.task == "instance_segmentation":
        size = int(params.get("view_size") or weights.input_size)
    else:
        raise JobError(f"{weights}: task {weights.task!r} cannot pre-label")
    try:
        model = weights.build(input_size=size)
    except OSError as exc:
        raise JobError(f"the weights file of {weights} cannot be read: {exc}") from exc
    except (ContractError, ValidationError) as exc:
        raise JobError(f"{weights}: {exc}") from exc
    if weights.task == "semantic_segmentation":
        # test-time flip (average with the mirrored view) on unless asked off
        predictor = SemanticPredictor(
            semantic_module(model), names, size, flip=bool(params.get("flip", True))
        )
        try:
            probs = predictor.probabilities(np.zeros((1, size, size, 3), np.uint8))
        except ContractError as exc:
            raise JobError(f"{weights}: {exc}") from exc
        except Exception as exc:
            raise JobError(f"{weights}: the model failed on a {size}² view: {exc}") from exc
        if probs.shape != (1, size, size, len(names)):
            raise JobError(
                f"{weights}: output {probs.shape[1:]} does not match the contract "
                f"(logits (1, {len(names)}, {size}, {size}) for its {len(names)} class_names)"
            )
        return predictor
    mapping = class_mapping(project, weights)
    if not mapping:
        raise JobError(f"{weights}: no class mapping to project {project} is saved")
    predictor = InstancePredictor(model, mapping, min_score=float(params.get("min_score", 0.3)))
    try:
        predictor.check()
    except ContractError as exc:
        raise JobError(f"{weights}: {exc}") from exc
    return predictor


@job_kind(
    "prelabel",
    queue="batch",
    label="Pre-label",
    validate=validate_prelabel_params,
    admin_form=PrelabelForm,
)
def prelabel_job(job, ctx) -> dict:
    """Pre-label panoramas: a model version's suggestions replace its own earlier ones."""
    from .contract import ContractError
    from .predict import SemanticPredictor, prelabel_instances, prelabel_semantic
    from .versions import calibration_of

    panoramas = _targets(job)
    if not panoramas:
        raise JobError("no panoramas to pre-label")
    project = panoramas[0].project
    params = job.params
    if params.get("weights"):
        weights = ModelWeights.objects.filter(pk=params["weights"]).first()
        if weights is None:
            raise JobError(f"model weights #{params['weights']} do not exist")
    else:
        weights = project_model(project)
        if weights is None:
            raise JobError("the project has no trained model yet: run prelabel_train first")
    predictor = build_predictor(weights, project, params)
    version = f"{weights.name} v{weights.version}"
    remember_suggestion_model(project, version, weights)
    calibration = calibration_of(weights)
    min_precision = float(params.get("min_class_precision", DEFAULT_MIN_CLASS_PRECISION))
    min_score = float(params.get("min_score", 0.0))
    tolerance = float(params.get("tolerance_deg", 0.3))
    budget = float(params.get("time_budget_s", DEFAULT_TIME_BUDGET_S))
    guard = live_attempt_guard(ctx)
    results = []
    n = len(panoramas)
    for k, pano in enumerate(panoramas):
        ctx.check_cancelled()
        rgb = panorama_rgb(pano, MAX_TRAIN_WIDTH)
        progress = throttled_progress(ctx, k, n)
        report: dict = {}
        deadline = time.monotonic() + budget
        try:
            if isinstance(predictor, SemanticPredictor):
                raw = prelabel_semantic(
                    rgb,
                    predictor,
                    grid_width=params.get("grid_width"),
                    tolerance_deg=tolerance,
                    progress=progress,
                    deadline=deadline,
                    report=report,
                )
            else:
                raw = prelabel_instances(rgb, predictor, tolerance, progress=progress)
        except ContractError as exc:
            raise JobError(f"{weights}: {exc}") from exc
        suggestions, dropped = [], {}
        for s in raw:
            if not calibration.allows(s.class_name, min_precision):
                dropped[s.class_name] = dropped.get(s.class_name, 0) + 1
                continue
            s.score = calibration.score(s.class_name, s.score)
            if s.score >= min_score:
                suggestions.append(s)
        ctx.check_cancelled()
        entry = store_suggestions(pano, suggestions, version, guard=guard)
        entry["low_precision_classes"] = dropped
        if report.get("truncated"):
            entry["truncated"] = (
                f"time budget of {budget:.0f} s reached: {report['traced']} of "
                f"{report['regions']} regions traced (largest first)"
            )
        results.append(entry)
        ctx.progress((k + 1) / n, f"{k + 1}/{n} panoramas")
    return {
        "model": version,
        "weights": weights.pk,
        "calibrated": calibration.fitted,
        "min_class_precision": min_precision if calibration.fitted else None,
        "panoramas": results,
    }


DEFAULT_TIME_BUDGET_S = 120.0
#: classes whose calibrated validation precision is below this are not suggested
DEFAULT_MIN_CLASS_PRECISION = 0.5


#: progress is written (and cancellation checked) at most this often inside a panorama
PROGRESS_EVERY_S = 0.5


def throttled_progress(ctx, k: int, n: int):
    """A progress(fraction-of-this-panorama) callback writing at most every
    ``PROGRESS_EVERY_S`` seconds; each write is also a cancellation (and lease) check."""
    last = [float("-inf")]

    def progress(fraction: float) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S or fraction >= 1.0:
            last[0] = now
            ctx.progress((k + 0.95 * fraction) / n, f"panorama {k + 1}/{n}: {fraction:.0%}")

    return progress


def live_attempt_guard(ctx):
    """Runs inside the suggestion write: locks the job row and raises unless this attempt
    still holds the job and no cancel was requested — a cancelled or superseded attempt
    writes nothing."""
    from inference.models import Job, JobStatus
    from inference.registry import JobCancelled, LeaseLost

    def guard() -> None:
        row = (
            Job.objects.select_for_update()
            .filter(pk=ctx.job.pk)
            .values("cancel_requested", "status", "lease")
            .first()
        )
        lease = getattr(ctx, "lease", None)
        if row is None or (
            lease is not None and (row["lease"] != lease or row["status"] != JobStatus.RUNNING)
        ):
            raise LeaseLost(f"job {ctx.job.pk}: this attempt no longer holds the job")
        if row["cancel_requested"]:
            raise JobCancelled()

    return guard
