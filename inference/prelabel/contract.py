"""The contract of an uploaded instance-segmentation model, and the runner that checks it.

A ``ModelWeights`` row with ``task='instance_segmentation'`` holds a TorchScript file:

* input: one float tensor (1, 3, S, S), RGB in 0–1, normalised with the row's ``mean`` /
  ``std`` when given (S = ``input_size``; the runner renders S × S views);
* output: a dict with keys ``boxes`` (N, 4) float [x0, y0, x1, y1] view pixels,
  ``labels`` (N,) int64 indices into the row's ``class_names``, ``scores`` (N,) float 0–1,
  ``masks`` (N, 1, S, S) or (N, S, S) float mask probabilities (> 0.5 is inside). A list
  holding one such dict, or a tuple ``(losses, [dict])`` (what a scripted torchvision
  Mask R-CNN returns) is accepted too.

Anything else fails the job with a message saying what was wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .network import load_torchscript
from .predict import to_tensor

KEYS = ("boxes", "labels", "scores", "masks")


class ContractError(ValueError):
    """The model or its output does not follow the contract (message for users)."""


def load_model(data: bytes) -> torch.jit.ScriptModule:
    """Load TorchScript bytes; ContractError with a clear message if it is not TorchScript."""
    try:
        return load_torchscript(data)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise ContractError(
            f"the weights file is not a TorchScript model (torch.jit.load failed: {first})"
        ) from exc


def _unwrap(output: object) -> dict:
    if isinstance(output, tuple) and len(output) == 2 and isinstance(output[1], list):
        output = output[1]
    if isinstance(output, list):
        if len(output) != 1:
            raise ContractError(f"the model returned a list of {len(output)} items, expected 1")
        output = output[0]
    if not isinstance(output, dict):
        raise ContractError(
            f"the model returned {type(output).__name__}; expected a dict with keys "
            f"{', '.join(KEYS)}"
        )
    missing = [k for k in KEYS if k not in output]
    if missing:
        raise ContractError(
            f"the model output lacks {', '.join(missing)} (needs {', '.join(KEYS)})"
        )
    return output


def parse_output(
    output: object, size: int, num_classes: int
) -> list[tuple[int, float, np.ndarray]]:
    """Check an output against the contract; (label index, score, bool mask (S, S)) per object."""
    out = _unwrap(output)
    for key in KEYS:
        if not isinstance(out[key], torch.Tensor):
            raise ContractError(f"output '{key}' must be a tensor, got {type(out[key]).__name__}")
    boxes, labels, scores, masks = (out[k].detach().cpu() for k in KEYS)
    n = labels.shape[0] if labels.dim() == 1 else -1
    if n < 0 or boxes.shape != (n, 4) or scores.shape != (n,):
        raise ContractError(
            f"inconsistent output shapes: boxes {tuple(boxes.shape)}, labels "
            f"{tuple(labels.shape)}, scores {tuple(scores.shape)} (expected (N,4), (N,), (N,))"
        )
    if masks.dim() == 4 and masks.shape[1] == 1:
        masks = masks[:, 0]
    if masks.dim() != 3 or masks.shape[0] != n or tuple(masks.shape[1:]) != (size, size):
        raise ContractError(
            f"masks have shape {tuple(out['masks'].shape)}; expected ({n}, 1, {size}, {size}) "
            f"or ({n}, {size}, {size})"
        )
    if n and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise ContractError(
            f"labels must index the {num_classes} class_names of the weights, got "
            f"{int(labels.min())}..{int(labels.max())}"
        )
    masks_np = (masks.float() > 0.5).numpy()
    return [(int(labels[k]), float(scores[k]), masks_np[k]) for k in range(n)]


@dataclass
class InstancePredictor:
    """Runs an uploaded model on views; maps its classes to project class names.

    ``mapping``: model class name → project class name; unmapped classes are dropped.
    """

    module: torch.nn.Module
    class_names: list[str]
    mapping: dict[str, str]
    view_size: int = 384
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    min_score: float = 0.3

    def _input(self, image: np.ndarray) -> torch.Tensor:
        x = to_tensor(image)
        if self.mean and self.std:
            x = (x - torch.tensor(self.mean).view(1, 3, 1, 1)) / torch.tensor(self.std).view(
                1, 3, 1, 1
            )
        return x

    @torch.no_grad()
    def raw(self, image: np.ndarray) -> list[tuple[int, float, np.ndarray]]:
        try:
            output = self.module(self._input(image))
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise ContractError(
                f"the model failed on a {self.view_size}×{self.view_size} view "
                f"(input (1, 3, {self.view_size}, {self.view_size})): {first}"
            ) from exc
        return parse_output(output, self.view_size, len(self.class_names))

    def check(self) -> None:
        """Run once on a grey view: raises ContractError unless the output follows the contract."""
        self.raw(np.full((self.view_size, self.view_size, 3), 128, np.uint8))

    def detect(self, image: np.ndarray) -> list[tuple[str, float, np.ndarray]]:
        """(project class name, score, mask) of the mapped objects in one view image."""
        out = []
        for label, score, mask in self.raw(image):
            target = self.mapping.get(self.class_names[label])
            if target and score >= self.min_score:
                out.append((target, score, mask))
        return out
