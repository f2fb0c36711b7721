"""Project model versions: validation scores, the active version, activation and rollback.

Every ``prelabel_train`` run stores a new :class:`~inference.models.ModelWeights` row for the
project (``project`` set) with its per-class validation scores, its score calibration
(:mod:`.calibration`) and its provenance (trained on what). The project's active version is
``Project.settings['prelabel']['project_model']``; every activation is appended to
``model_history`` so a manager can roll back.

A new version becomes active only if it is not worse than the active one **on the same
validation panoramas** (the active version is re-scored on them by the training job), unless
the manager asks for ``activate="always"`` (or ``"never"``, to compare first).

Scoring a model (:func:`evaluate`) needs the prediction, merging and calibration modules
(torch, OpenCV, SciPy); they are imported there, so the API views that read versions and
provenance stay light.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.utils import timezone

from annotations.models import Project
from inference.models import ModelWeights

from .store import prelabel_settings, update_prelabel_settings

if TYPE_CHECKING:
    from .calibration import Calibration
    from .predict import SemanticPredictor

ACTIVATE = ("if_not_worse", "always", "never")
#: "not worse": the new mean IoU may trail the active one by at most this (rounding noise)
TOLERANCE = 0.002
HISTORY = 50


@dataclass
class Evaluation:
    """A model's scores on some validation panoramas."""

    miou: float
    iou: dict[str, float]
    outcomes: list[tuple[str, float, bool]] = field(default_factory=list)
    panoramas: int = 0

    def to_json(self) -> dict:
        return {
            "panoramas": self.panoramas,
            "miou": round(self.miou, 4),
            "iou": {k: round(v, 4) for k, v in self.iou.items()},
        }


def evaluate(
    predictor: SemanticPredictor,
    val: list[tuple],
    grid_width: int = 512,
    progress=None,
) -> Evaluation:
    """Pre-label each validation panorama (rgb, truth) and score it: spherical IoU per class
    and, per suggestion, whether it is right (for the calibration)."""
    from .calibration import suggestion_outcomes
    from .metrics import Scores, score_panorama
    from .predict import prelabel_semantic

    scores = Scores()
    outcomes: list[tuple[str, float, bool]] = []
    for k, (rgb, truth) in enumerate(val):
        suggestions = prelabel_semantic(rgb, predictor, grid_width=grid_width)
        score_panorama(scores, truth, [(s.class_name, s.geometry) for s in suggestions], grid_width)
        outcomes += suggestion_outcomes(
            truth, [(s.class_name, s.geometry, s.score) for s in suggestions], grid_width
        )
        if progress:
            progress((k + 1) / len(val))
    return Evaluation(scores.mean_iou(), scores.iou(), outcomes, len(val))


def validation_record(evaluation: Evaluation) -> dict:
    """What is stored in ``ModelWeights.validation``: scores and the fitted calibration."""
    from .calibration import fit

    calibration = fit(evaluation.outcomes)
    return {**evaluation.to_json(), "calibration": calibration.to_json()}


def calibration_of(weights: ModelWeights) -> Calibration:
    from .calibration import Calibration

    return Calibration.from_json((weights.validation or {}).get("calibration"))


def active_version(project: Project) -> ModelWeights | None:
    from .store import project_model

    return project_model(project)


def activate(project: Project, weights: ModelWeights, by: str = "", reason: str = "") -> None:
    """Make ``weights`` the active version and append the activation to the history."""
    if weights.project_id not in (None, project.pk):
        raise ValueError(f"{weights} belongs to another project")

    def change(values: dict) -> None:
        values["project_model"] = weights.pk
        history = list(values.get("model_history") or [])
        history.append(
            {"weights": weights.pk, "at": timezone.now().isoformat(), "by": by, "reason": reason}
        )
        values["model_history"] = history[-HISTORY:]

    update_prelabel_settings(project, change)


def rollback(project: Project, by: str = "") -> ModelWeights:
    """Activate the version that was active before the current one (ValueError if none)."""
    values = prelabel_settings(project)
    current = values.get("project_model")
    for entry in reversed(values.get("model_history") or []):
        if entry["weights"] != current:
            previous = ModelWeights.objects.filter(pk=entry["weights"]).first()
            if previous is not None:
                activate(project, previous, by=by, reason=f"rollback from #{current}")
                return previous
    raise ValueError("there is no earlier version to roll back to")


def decide(new: Evaluation, old: Evaluation | None, policy: str) -> tuple[bool, str]:
    """(activate?, why) for a newly trained version."""
    if policy == "always":
        return True, "activated as asked (activate=always)"
    if policy == "never":
        return False, "kept inactive as asked (activate=never)"
    if old is None:
        return True, "no active version to compare with"
    if new.miou + TOLERANCE >= old.miou:
        return True, (
            f"validation mean IoU {new.miou:.3f} is not worse than the active version's "
            f"{old.miou:.3f} on the same {new.panoramas} panorama(s)"
        )
    return False, (
        f"validation mean IoU {new.miou:.3f} is worse than the active version's {old.miou:.3f} "
        f"on the same {new.panoramas} panorama(s): the active version stays (activate it "
        "yourself, or train with activate=always)"
    )


def version_json(weights: ModelWeights, active_id: int | None) -> dict:
    validation = weights.validation or {}
    return {
        "id": weights.pk,
        "name": weights.name,
        "version": weights.version,
        "created_at": weights.created_at.isoformat() if weights.created_at else None,
        "active": weights.pk == active_id,
        "class_names": weights.class_names,
        "validation": {k: v for k, v in validation.items() if k != "calibration"},
        "calibration": validation.get("calibration"),
        "provenance": weights.provenance,
    }


def provenance_json(weights: ModelWeights) -> dict:
    """What the UI shows next to a model's suggestions: trained on what, how well."""
    validation = weights.validation or {}
    calibration = validation.get("calibration") or {}
    return {
        "weights": weights.pk,
        "name": weights.name,
        "version": weights.version,
        "task": weights.task,
        "format": weights.format,
        "trained_on": (weights.provenance or {}).get("trained_on")
        or ("uploaded by an admin" if weights.project_id is None else ""),
        "panoramas": (weights.provenance or {}).get("panoramas"),
        "validation_panoramas": validation.get("panoramas"),
        "validation_iou": validation.get("iou") or {},
        "calibrated": bool(calibration.get("fitted")),
        "class_precision": {
            k: v.get("precision") for k, v in (calibration.get("classes") or {}).items()
        },
    }


__all__ = [
    "ACTIVATE",
    "Evaluation",
    "activate",
    "active_version",
    "calibration_of",
    "decide",
    "evaluate",
    "provenance_json",
    "rollback",
    "validation_record",
    "version_json",
]
