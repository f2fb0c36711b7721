"""Training the project model on rectilinear views of labelled panoramas.

Samples are random views (yaw uniform, pitch ~ N(0, 20°), FOV 40–90°, plus focus and nadir
views) with targets rasterised exactly from the spherical polygons (:mod:`.samples`); ignore
classes are left out of the loss (``ignore_index``). Validation is the SPHERICAL mean IoU of whole-panorama
pre-labelling on held-out panoramas (:mod:`.metrics`). CPU by default, CUDA if present.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.nn import functional as F

from .metrics import Scores, score_panorama
from .network import MEAN, STD, CompactSegNet, to_torchscript
from .predict import SemanticPredictor, prelabel_semantic
from .samples import IGNORE, LabelledPanorama, ViewSampler, make_samples

Report = Callable[[float, str], None]


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters. The defaults are the best setting of ``bench/prelabel.py`` (20
    panoramas: about 10–12 minutes on one CPU core, see docs/prelabel.md)."""

    view_size: int = 128
    views_per_panorama: int = 96
    iterations: int = 2500
    batch_size: int = 8
    width: int = 8
    lr: float = 3e-3
    seed: int = 0
    validations: int = 3
    val_grid_width: int = 512
    predict_view_size: int = 256
    #: class weights (median frequency / frequency) ** power, clipped to [0.2, 30]
    class_weight_power: float = 1.0
    hfov_min: float = 40.0
    hfov_max: float = 90.0
    #: fraction of training views centred on small instances (narrow FOV), and looking at
    #: the nadir/zenith (see :class:`.samples.ViewSampler`)
    focus_fraction: float = 0.3
    focus_hfov_min: float = 25.0
    focus_hfov_max: float = 60.0
    pole_fraction: float = 0.1
    #: weight of the soft Dice loss (mean over classes present in the batch) added to the CE
    dice_weight: float = 0.5
    #: logit adjustment τ: the exported model adds −τ·log(class weight) to its logits, undoing
    #: part of the class weighting at prediction time (chosen on validation streets, not the
    #: benchmark's test set; 0 = off)
    logit_adjust: float = 0.3
    #: bilinear (else nearest) up-sampling in the decoder (:class:`.network.CompactSegNet`)
    bilinear: bool = True
    #: colour augmentation: per-channel gain in 1 ± colour_jitter (on top of the 0.8–1.2
    #: brightness gain), and a contrast change of the same amplitude
    colour_jitter: float = 0.1
    #: torch CPU threads (0: torch's default). On a shared 2-core machine 1 was fastest.
    threads: int = 1

    @classmethod
    def from_params(cls, params: dict) -> TrainConfig:
        """A config from job params (unknown keys ignored)."""
        known = {k: type(v) for k, v in cls().__dict__.items()}
        return cls(**{k: known[k](params[k]) for k in known if k in params})


@dataclass
class TrainResult:
    model: CompactSegNet
    class_names: list[str]
    torchscript: bytes
    history: list[dict] = field(default_factory=list)
    val_miou: float | None = None
    val_iou: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


def _class_weights(targets: np.ndarray, num_classes: int, power: float = 0.5) -> torch.Tensor:
    counts = np.bincount(targets[targets != IGNORE].ravel(), minlength=num_classes)[:num_classes]
    freq = counts / max(counts.sum(), 1)
    present = freq > 0
    med = np.median(freq[present]) if present.any() else 1.0
    weights = np.where(present, (med / np.maximum(freq, 1e-12)) ** power, 1.0)
    return torch.tensor(np.clip(weights, 0.2, 30.0), dtype=torch.float32)


def _dice_loss(logits: torch.Tensor, y: torch.Tensor, num_classes: int) -> torch.Tensor:
    """1 − soft Dice, averaged over the classes present in the batch (ignore pixels left out)."""
    valid = (y != IGNORE).unsqueeze(1).float()
    probs = torch.softmax(logits, dim=1) * valid
    onehot = F.one_hot(y.clamp(max=num_classes - 1), num_classes).permute(0, 3, 1, 2).float()
    onehot = onehot * valid
    inter = (probs * onehot).sum((0, 2, 3))
    total = probs.sum((0, 2, 3)) + onehot.sum((0, 2, 3))
    present = onehot.sum((0, 2, 3)) > 0
    dice = (2 * inter + 1.0) / (total + 1.0)
    return 1.0 - dice[present].mean() if bool(present.any()) else logits.sum() * 0.0


def validate(
    model: torch.nn.Module,
    class_names: list[str],
    val: list[tuple[np.ndarray, list[tuple[str, list]]]],
    grid_width: int,
    view_size: int,
) -> Scores:
    """Spherical IoU of pre-labelling each validation panorama against its truth."""
    predictor = SemanticPredictor(model, class_names, view_size)
    scores = Scores()
    for rgb, truth in val:
        suggestions = prelabel_semantic(rgb, predictor, grid_width=grid_width)
        predicted = [(s.class_name, s.geometry) for s in suggestions]
        score_panorama(scores, truth, predicted, grid_width=grid_width)
    return scores


def train_project_model(
    train: list[LabelledPanorama],
    class_names: list[str],
    val: list[tuple[np.ndarray, list[tuple[str, list]]]] | None = None,
    config: TrainConfig | None = None,
    report: Report | None = None,
) -> TrainResult:
    """Train a :class:`CompactSegNet`; ``class_names[0]`` must be the background.

    ``report(fraction, message)`` gets loss and validation mIoU as training goes (and may
    raise to cancel).
    """
    config = config or TrainConfig()
    started = time.perf_counter()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    num_classes = len(class_names)
    sampler = ViewSampler(
        size=config.view_size,
        hfov_range=(config.hfov_min, config.hfov_max),
        focus_fraction=config.focus_fraction,
        focus_hfov_range=(config.focus_hfov_min, config.focus_hfov_max),
        pole_fraction=config.pole_fraction,
    )
    if report:
        report(0.0, f"rendering {len(train) * config.views_per_panorama} training views")
    images, targets = make_samples(train, config.views_per_panorama, sampler, config.seed)
    x_all = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()  # uint8
    y_all = torch.from_numpy(targets.astype(np.int64))
    model = CompactSegNet(num_classes, config.width, config.bilinear).to(device)
    weights = _class_weights(targets, num_classes, config.class_weight_power).to(device)
    with torch.no_grad():
        model.logit_bias.copy_((-config.logit_adjust * torch.log(weights)).view(1, -1, 1, 1))
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=config.lr, total_steps=config.iterations, pct_start=0.15
    )
    result = TrainResult(model, list(class_names), b"")
    checkpoints = {
        int(round(config.iterations * (k + 1) / config.validations))
        for k in range(config.validations)
    }
    running = None
    for step in range(1, config.iterations + 1):
        model.train()
        idx = torch.from_numpy(rng.integers(0, len(x_all), config.batch_size))
        x = x_all[idx].float().div_(255.0)
        y = y_all[idx]
        if rng.random() < 0.5:  # mirror: a mirrored street is still a street
            x, y = x.flip(3), y.flip(2)
        gain = rng.uniform(0.8, 1.2, (config.batch_size, 1, 1, 1))
        if config.colour_jitter > 0:
            j = config.colour_jitter
            gain = gain * rng.uniform(1 - j, 1 + j, (config.batch_size, 3, 1, 1))
            contrast = torch.from_numpy(rng.uniform(1 - j, 1 + j, (config.batch_size, 1, 1, 1)))
            mean = x.mean(dim=(1, 2, 3), keepdim=True)
            x = (x - mean) * contrast.float() + mean
        x = (x * torch.from_numpy(gain).float()).clamp_(0.0, 1.0)
        x, y = x.to(device), y.to(device)
        logits = model(x)
        loss = F.cross_entropy(logits, y, weight=weights, ignore_index=IGNORE)
        if config.dice_weight > 0:
            loss = loss + config.dice_weight * _dice_loss(logits, y, num_classes)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        running = loss.item() if running is None else 0.95 * running + 0.05 * loss.item()
        entry = None
        if step in checkpoints and val:
            model.eval()
            scores = validate(
                model.cpu(), class_names, val, config.val_grid_width, config.predict_view_size
            )
            model.to(device)
            result.val_miou, result.val_iou = scores.mean_iou(), scores.iou()
            entry = {"step": step, "loss": running, "val_miou": result.val_miou}
        elif step % 50 == 0 or step == config.iterations:
            entry = {"step": step, "loss": running}
        if entry:
            result.history.append(entry)
            if report:
                text = f"step {step}/{config.iterations} loss {running:.3f}"
                if result.val_miou is not None:
                    text += f" val spherical mIoU {result.val_miou:.3f}"
                report(step / config.iterations, text)
    model = model.cpu().eval()
    result.model = model
    result.torchscript = to_torchscript(model)
    result.seconds = time.perf_counter() - started
    return result


__all__ = ["MEAN", "STD", "TrainConfig", "TrainResult", "train_project_model", "validate"]
