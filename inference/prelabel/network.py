"""A compact, CPU-friendly encoder-decoder for semantic segmentation of views.

Input: float tensor (N, 3, H, W), RGB scaled to 0–1 and normalised with the mean/std stored
with the weights (the network does the normalisation itself, so the exported TorchScript
takes plain 0–1 RGB). Output: logits (N, C, H, W), class 0 = background. H and W must be
multiples of 8.
"""

from __future__ import annotations

import io

import torch
from torch import nn
from torch.nn import functional as F

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class CompactSegNet(nn.Module):
    """A small U-Net (three down-samplings); ``width`` scales every layer.

    ``bilinear``: the decoder up-samples bilinearly (smoother outlines of thin objects than
    nearest-neighbour up-sampling, at no parameter cost).

    ``logit_bias`` (C,) is added to the logits in eval mode: training sets it to
    ``−τ·log(class weight)`` (logit adjustment), which takes back part of the boost the
    class-weighted loss gives rare classes (without it people and poles are over-predicted).
    """

    def __init__(self, num_classes: int, width: int = 16, bilinear: bool = True):
        super().__init__()
        w = width
        self.bilinear = bilinear
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1))
        #: added to the logits in eval mode only (logit adjustment, set after training)
        self.register_buffer("logit_bias", torch.zeros(1, num_classes, 1, 1))
        self.enc1 = _block(3, w)
        self.enc2 = _block(w, 2 * w)
        self.enc3 = _block(2 * w, 4 * w)
        self.bottom = _block(4 * w, 4 * w)
        self.dec3 = _block(8 * w, 2 * w)
        self.dec2 = _block(4 * w, w)
        self.dec1 = _block(2 * w, w)
        self.head = nn.Conv2d(w, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.mean) / self.std
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        e3 = self.enc3(F.max_pool2d(e2, 2))
        b = self.bottom(F.max_pool2d(e3, 2))
        d3 = self.dec3(torch.cat([self._up(b), e3], 1))
        d2 = self.dec2(torch.cat([self._up(d3), e2], 1))
        d1 = self.dec1(torch.cat([self._up(d2), e1], 1))
        logits = self.head(d1)
        if not self.training:
            logits = logits + self.logit_bias
        return logits

    def _up(self, x: torch.Tensor) -> torch.Tensor:
        if self.bilinear:
            return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        return F.interpolate(x, scale_factor=2.0, mode="nearest")


def to_torchscript(model: nn.Module) -> bytes:
    """The model (in eval mode) as TorchScript archive bytes (``torch.jit.script``)."""
    model = model.eval()
    scripted = torch.jit.script(model)
    buffer = io.BytesIO()
    torch.jit.save(scripted, buffer)
    return buffer.getvalue()


def load_torchscript(data: bytes) -> torch.jit.ScriptModule:
    """Load TorchScript bytes on the CPU in eval mode (raises on a non-TorchScript file)."""
    module = torch.jit.load(io.BytesIO(data), map_location="cpu")
    module.eval()
    return module
