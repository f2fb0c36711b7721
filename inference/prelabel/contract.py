"""Registered models as pre-labelling predictors (TorchScript or ONNX).

The input/output contracts of each task are in :mod:`inference.model_contracts` (checked at
upload); this module adapts them to pre-labelling:

* :class:`InstancePredictor` — an instance-segmentation model (torchvision Mask R-CNN or
  YOLO-seg layout) whose classes are mapped to project classes;
* :func:`semantic_module` — a semantic-segmentation model as a torch-callable returning
  logits, so :class:`.predict.SemanticPredictor` runs TorchScript and ONNX alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from inference.model_contracts import ContractError, InstanceModel, SemanticModel
from inference.model_formats import ModelFileError, load_torchscript

__all__ = ["ContractError", "InstancePredictor", "load_model", "semantic_module"]


def load_model(data: bytes) -> torch.jit.ScriptModule:
    """Load TorchScript bytes; ContractError with a clear message (missing operators named)."""
    try:
        return load_torchscript(data)
    except ModelFileError as exc:
        raise ContractError(f"the weights file: {exc}") from exc


class _AdapterLogits(torch.nn.Module):
    """A semantic model (ONNX, or TorchScript with mean/std) behind the torch call the
    predictor makes: (N, 3, S, S) 0–1 RGB tensor → logits (normalised as the weights say)."""

    def __init__(self, model: SemanticModel):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.model.logits(x.detach().cpu().numpy()))


def semantic_module(model) -> torch.nn.Module:
    """A torch-callable (N, 3, S, S) → logits for a built semantic model of either format."""
    if model.runner.format == "torchscript" and not (model.input.mean and model.input.std):
        return model.runner.module
    return _AdapterLogits(model)


@dataclass
class InstancePredictor:
    """Runs an uploaded instance model on views; maps its classes to project class names.

    ``mapping``: model class name → project class name; unmapped classes are dropped.
    """

    model: InstanceModel
    mapping: dict[str, str]
    min_score: float = 0.3

    @property
    def view_size(self) -> int:
        return self.model.input.size

    @property
    def class_names(self) -> list[str]:
        return self.model.class_names

    def raw(self, image: np.ndarray) -> list[tuple[int, float, np.ndarray]]:
        return self.model.raw(image)

    def check(self) -> None:
        """Run once on a test view: ContractError unless the output follows the contract."""
        self.model.check()

    def detect(self, image: np.ndarray) -> list[tuple[str, float, np.ndarray]]:
        """(project class name, score, mask) of the mapped objects in one view image."""
        out = []
        for label, score, mask in self.raw(image):
            target = self.mapping.get(self.class_names[label])
            if target and score >= self.min_score:
                out.append((target, score, mask))
        return out
