"""Score calibration of a project model on its validation panoramas.

A raw suggestion score (mean class probability over the region) is not a probability of
being right: a model trained on synthetic streets gives sand and pavement "pole" regions a
median score of 0.5, the same as its real poles. On the validation panoramas each
suggestion is marked right when its IoU with the truth is ≥ 0.5 — the truth being the
union of the true instances of its class that it overlaps (a semantic region covering two
touching buildings is a right "building" region) — and

* a logistic map ``p = sigmoid(a · logit(raw) + b + class offset)`` is fitted (Platt
  scaling, L2-regularised, the class offsets shrunk towards 0), so a calibrated score is an
  estimate of P(IoU ≥ 0.5);
* each class gets its validation precision (right / suggested, with one right and one wrong
  pseudo-count), and pre-labelling suggests only classes whose precision is acceptable.

Too little data (fewer than ``MIN_SAMPLES`` suggestions) leaves the scores uncalibrated and
every class allowed; the result says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit

from label360.sphere import rasterize

from .merge import pixel_solid_angles

MIN_SAMPLES = 8
EPS = 1e-4


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1 - EPS)
    return np.log(p / (1 - p))


def suggestion_outcomes(
    truth: list[tuple[str, list]], suggestions: list[tuple[str, list, float]], width: int = 512
) -> list[tuple[str, float, bool]]:
    """(class, raw score, right?) of each suggestion against one panorama's truth."""
    height = width // 2
    sr = np.broadcast_to(pixel_solid_angles(width, height), (height, width))
    masks: dict[str, list[np.ndarray]] = {}
    for name, geometry in truth:
        masks.setdefault(name, []).append(rasterize(geometry, width, height))
    out = []
    for name, geometry, score in suggestions:
        mask = rasterize(geometry, width, height)
        target = np.zeros_like(mask)
        for t in masks.get(name, []):
            if (t & mask).any():
                target |= t
        union = float(((mask | target) * sr).sum())
        value = float(((mask & target) * sr).sum()) / union if union > 0 else 0.0
        out.append((name, float(score), value >= 0.5))
    return out


@dataclass
class Calibration:
    """The fitted map and per-class precision (see the module docstring)."""

    a: float = 1.0
    b: float = 0.0
    offsets: dict[str, float] = field(default_factory=dict)
    classes: dict[str, dict] = field(default_factory=dict)
    samples: int = 0
    fitted: bool = False

    def score(self, class_name: str, raw: float) -> float:
        """Calibrated score: the estimated probability that the suggestion has IoU ≥ 0.5."""
        if not self.fitted:
            return float(raw)
        z = self.a * float(_logit(np.asarray(raw))) + self.b + self.offsets.get(class_name, 0.0)
        return float(expit(z))

    def precision(self, class_name: str) -> float | None:
        entry = self.classes.get(class_name)
        return None if entry is None else float(entry["precision"])

    def allows(self, class_name: str, min_precision: float) -> bool:
        """Whether ``class_name`` may be suggested: its validation precision is at least
        ``min_precision`` (classes never seen on validation panoramas are not allowed once
        the model is calibrated — nothing says they work)."""
        if not self.fitted:
            return True
        value = self.precision(class_name)
        return value is not None and value >= min_precision

    def to_json(self) -> dict:
        return {
            "a": round(self.a, 5),
            "b": round(self.b, 5),
            "offsets": {k: round(v, 5) for k, v in self.offsets.items()},
            "classes": self.classes,
            "samples": self.samples,
            "fitted": self.fitted,
        }

    @classmethod
    def from_json(cls, data: dict | None) -> Calibration:
        if not data:
            return cls()
        return cls(
            a=float(data.get("a", 1.0)),
            b=float(data.get("b", 0.0)),
            offsets={k: float(v) for k, v in (data.get("offsets") or {}).items()},
            classes=dict(data.get("classes") or {}),
            samples=int(data.get("samples", 0)),
            fitted=bool(data.get("fitted", False)),
        )


def fit(
    outcomes: list[tuple[str, float, bool]], l2: float = 1.0, class_l2: float = 4.0
) -> Calibration:
    """Fit the calibration to validation outcomes (Newton's method on the penalised
    log-likelihood; a, b and one offset per class)."""
    classes: dict[str, dict] = {}
    for name, _, right in outcomes:
        entry = classes.setdefault(name, {"suggested": 0, "right": 0})
        entry["suggested"] += 1
        entry["right"] += int(right)
    for entry in classes.values():
        entry["precision"] = round((entry["right"] + 1) / (entry["suggested"] + 2), 4)
    cal = Calibration(classes=classes, samples=len(outcomes))
    labels = np.array([right for _, _, right in outcomes], float)
    if len(outcomes) < MIN_SAMPLES or labels.min() == labels.max():
        return cal  # nothing to fit: raw scores stay, precision is still reported
    names = sorted(classes)
    x = _logit(np.array([score for _, score, _ in outcomes]))
    design = np.zeros((len(outcomes), 2 + len(names)))
    design[:, 0], design[:, 1] = x, 1.0
    for i, (name, _, _) in enumerate(outcomes):
        design[i, 2 + names.index(name)] = 1.0
    penalty = np.diag([l2 * 1e-2, l2 * 1e-2] + [class_l2] * len(names))
    w = np.zeros(design.shape[1])
    w[0] = 1.0
    for _ in range(50):
        p = expit(design @ w)  # the logistic function without overflow warnings
        grad = design.T @ (p - labels) + penalty @ (w - np.r_[1.0, np.zeros(len(w) - 1)])
        hess = design.T @ (design * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    cal.a, cal.b = float(w[0]), float(w[1])
    cal.offsets = {name: float(w[2 + k]) for k, name in enumerate(names)}
    cal.fitted = True
    return cal


__all__ = ["Calibration", "fit", "suggestion_outcomes"]
