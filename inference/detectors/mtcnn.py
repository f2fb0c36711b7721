"""The MTCNN face detector (Zhang et al. 2016, "Joint Face Detection and Alignment using
Multi-task Cascaded Convolutional Networks"): our own network and cascade, loading the
pretrained ``pnet/rnet/onet`` weights that ship in the facenet-pytorch wheel.

Three networks run in cascade: P-Net, fully convolutional, scans an image pyramid with a
12×12 window (stride 2) and proposes boxes; R-Net re-scores and refines 24×24 crops of the
proposals; O-Net re-scores 48×48 crops and adds five landmarks (eyes, nose, mouth corners).
Between stages boxes are regressed, squared and de-duplicated by non-maximum suppression.

Coordinates returned by :meth:`MTCNN.detect` are *index* coordinates of the image (the
centre of pixel (x, y) is at (x, y), the image covers [−0.5, W − 0.5]), as everywhere in
Label360.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from .weights import MTCNN as SOURCE
from .weights import WeightsError, weight_bytes


class PNet(nn.Module):
    """Proposal network: 12×12 receptive field, stride 2; (face probability, box offsets)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 10, 3), nn.PReLU(10)
        self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(10, 16, 3), nn.PReLU(16)
        self.conv3, self.prelu3 = nn.Conv2d(16, 32, 3), nn.PReLU(32)
        self.conv4_1 = nn.Conv2d(32, 2, 1)
        self.conv4_2 = nn.Conv2d(32, 4, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.prelu3(self.conv3(self.prelu2(self.conv2(x))))
        return torch.softmax(self.conv4_1(x), dim=1)[:, 1], self.conv4_2(x)


class RNet(nn.Module):
    """Refinement network on 24×24 crops."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 28, 3), nn.PReLU(28)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(28, 48, 3), nn.PReLU(48)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3 = nn.Conv2d(48, 64, 2), nn.PReLU(64)
        self.dense4, self.prelu4 = nn.Linear(576, 128), nn.PReLU(128)
        self.dense5_1 = nn.Linear(128, 2)
        self.dense5_2 = nn.Linear(128, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.prelu3(self.conv3(x))
        # the weights were converted from a framework that flattens (N, W, H, C)
        x = self.prelu4(self.dense4(x.permute(0, 3, 2, 1).reshape(x.shape[0], -1)))
        return torch.softmax(self.dense5_1(x), dim=1)[:, 1], self.dense5_2(x)


class ONet(nn.Module):
    """Output network on 48×48 crops: probability, box offsets, five landmarks."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 32, 3), nn.PReLU(32)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(32, 64, 3), nn.PReLU(64)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3 = nn.Conv2d(64, 64, 3), nn.PReLU(64)
        self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4, self.prelu4 = nn.Conv2d(64, 128, 2), nn.PReLU(128)
        self.dense5, self.prelu5 = nn.Linear(1152, 256), nn.PReLU(256)
        self.dense6_1 = nn.Linear(256, 2)
        self.dense6_2 = nn.Linear(256, 4)
        self.dense6_3 = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.pool3(self.prelu3(self.conv3(x)))
        x = self.prelu4(self.conv4(x))
        x = self.prelu5(self.dense5(x.permute(0, 3, 2, 1).reshape(x.shape[0], -1)))
        return torch.softmax(self.dense6_1(x), dim=1)[:, 1], self.dense6_2(x), self.dense6_3(x)


def _load_state(net: nn.Module, name: str, root: Path | None) -> nn.Module:
    data = weight_bytes(SOURCE, f"{name}.pt", root)
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        net.load_state_dict(state, strict=True)
    except Exception as exc:  # parse error or keys/shapes that are not this network's
        raise WeightsError(
            f"MTCNN {name}.pt could not be loaded into {type(net).__name__}: {exc}"
        ) from exc
    return net.eval()


@dataclass
class Face:
    """One detected face: box (x0, y0, x1, y1), probability, landmarks (5, 2) as (x, y)."""

    box: np.ndarray
    score: float
    landmarks: np.ndarray


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, mode: str = "union") -> np.ndarray:
    """Greedy non-maximum suppression on (n, 4) boxes; overlap by union or by the smaller box."""
    order = np.argsort(-scores, kind="stable")
    x0, y0, x1, y1 = boxes.T
    areas = np.maximum(x1 - x0, 0) * np.maximum(y1 - y0, 0)
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x1[i], x1[rest]) - np.maximum(x0[i], x0[rest]))
        h = np.maximum(0.0, np.minimum(y1[i], y1[rest]) - np.maximum(y0[i], y0[rest]))
        inter = w * h
        if mode == "min":
            overlap = inter / np.maximum(np.minimum(areas[i], areas[rest]), 1e-12)
        else:
            overlap = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-12)
        order = rest[overlap <= threshold]
    return np.asarray(keep, np.int64)


def _regress(boxes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    size = np.stack([boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]] * 2, axis=1)
    return boxes + offsets * size


def _square(boxes: np.ndarray) -> np.ndarray:
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    cx, cy = boxes[:, 0] + w / 2, boxes[:, 1] + h / 2
    return np.stack([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2], axis=1)


def _normalise(pixels: np.ndarray) -> torch.Tensor:
    """(n, h, w, 3) uint8 RGB → (n, 3, h, w) float in the range the networks were trained on."""
    t = torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2).float()
    return (t - 127.5) * 0.0078125


def _crops(image: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """Square crops of the boxes (continuous coordinates, zero outside the image) at size²."""
    h, w = image.shape[:2]
    out = np.zeros((len(boxes), size, size, 3), np.uint8)
    for k, (x0, y0, x1, y1) in enumerate(boxes):
        ix0, iy0 = int(math.floor(x0)), int(math.floor(y0))
        ix1, iy1 = int(math.ceil(x1)), int(math.ceil(y1))
        if ix1 - ix0 < 2 or iy1 - iy0 < 2:
            continue
        patch = np.zeros((iy1 - iy0, ix1 - ix0, 3), np.uint8)
        sx0, sy0, sx1, sy1 = max(ix0, 0), max(iy0, 0), min(ix1, w), min(iy1, h)
        if sx1 <= sx0 or sy1 <= sy0:
            continue
        patch[sy0 - iy0 : sy1 - iy0, sx0 - ix0 : sx1 - ix0] = image[sy0:sy1, sx0:sx1]
        out[k] = cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA)
    return out


class MTCNN:
    """The cascade with loaded weights. ``detect(rgb)`` → list of :class:`Face`."""

    #: smallest face P-Net can see at scale 1 (its window)
    WINDOW = 12

    def __init__(
        self,
        root: Path | None = None,
        thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
        factor: float = 0.709,
    ) -> None:
        self.pnet = _load_state(PNet(), "pnet", root)
        self.rnet = _load_state(RNet(), "rnet", root)
        self.onet = _load_state(ONet(), "onet", root)
        self.thresholds = thresholds
        self.factor = factor

    def scales(self, height: int, width: int, min_face: float, max_face: float | None) -> list:
        """Pyramid scales: P-Net's 12 px window covers faces from ``min_face`` px up to
        ``max_face`` px (default: the image's short side)."""
        top = min(height, width) if max_face is None else min(max_face, min(height, width))
        scale = self.WINDOW / float(min_face)
        out = []
        while top * scale >= self.WINDOW:
            out.append(scale)
            scale *= self.factor
        return out

    @torch.inference_mode()
    def detect(
        self, rgb: np.ndarray, min_face: float = 20.0, max_face: float | None = None
    ) -> list[Face]:
        """Faces in an (H, W, 3) uint8 RGB image, highest probability first."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError("MTCNN.detect needs an (H, W, 3) uint8 RGB image")
        height, width = rgb.shape[:2]
        boxes = self._propose(rgb, self.scales(height, width, min_face, max_face))
        if len(boxes):
            boxes = self._refine(rgb, boxes)
        if not len(boxes):
            return []
        faces = self._output(rgb, boxes)
        return sorted(faces, key=lambda f: -f.score)

    def _propose(self, rgb: np.ndarray, scales: list[float]) -> np.ndarray:
        height, width = rgb.shape[:2]
        found = []
        for scale in scales:
            hs, ws = int(math.ceil(height * scale)), int(math.ceil(width * scale))
            if min(hs, ws) < self.WINDOW:
                break
            resized = cv2.resize(rgb, (ws, hs), interpolation=cv2.INTER_AREA)
            prob, reg = self.pnet(_normalise(resized[None]))
            prob, reg = prob[0].numpy(), reg[0].numpy()
            ys, xs = np.nonzero(prob >= self.thresholds[0])
            if not len(ys):
                continue
            # continuous coordinates of each 12x12 window (stride 2) in the original image
            windows = np.stack([2 * xs, 2 * ys, 2 * xs + 12, 2 * ys + 12], axis=1) / scale
            cand = np.concatenate([windows, prob[ys, xs, None], reg[:, ys, xs].T], axis=1).astype(
                np.float64
            )
            cand = cand[nms(cand[:, :4], cand[:, 4], 0.5)]
            found.append(cand)
        if not found:
            return np.zeros((0, 5))
        cand = np.concatenate(found)
        cand = cand[nms(cand[:, :4], cand[:, 4], 0.7)]
        boxes = _square(_regress(cand[:, :4], cand[:, 5:9]))
        return np.concatenate([boxes, cand[:, 4:5]], axis=1)

    def _refine(self, rgb: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        prob, reg = self.rnet(_normalise(_crops(rgb, boxes[:, :4], 24)))
        prob, reg = prob.numpy(), reg.numpy()
        keep = prob >= self.thresholds[1]
        boxes, prob, reg = boxes[keep], prob[keep], reg[keep]
        if not len(boxes):
            return boxes
        order = nms(boxes[:, :4], prob, 0.7)
        boxes, prob, reg = boxes[order], prob[order], reg[order]
        squared = _square(_regress(boxes[:, :4], reg))
        return np.concatenate([squared, prob[:, None]], axis=1)

    def _output(self, rgb: np.ndarray, boxes: np.ndarray) -> list[Face]:
        prob, reg, marks = self.onet(_normalise(_crops(rgb, boxes[:, :4], 48)))
        prob, reg, marks = prob.numpy(), reg.numpy(), marks.numpy()
        keep = prob >= self.thresholds[2]
        boxes, prob, reg, marks = boxes[keep], prob[keep], reg[keep], marks[keep]
        if not len(boxes):
            return []
        w = (boxes[:, 2] - boxes[:, 0])[:, None]
        h = (boxes[:, 3] - boxes[:, 1])[:, None]
        points = np.stack(
            [boxes[:, 0:1] + marks[:, 0:5] * w, boxes[:, 1:2] + marks[:, 5:10] * h], axis=2
        )
        final = _regress(boxes[:, :4], reg)
        order = nms(final, prob, 0.7, mode="min")
        # continuous → index coordinates (pixel centres at integers)
        return [
            Face(box=final[i] - 0.5, score=float(prob[i]), landmarks=points[i] - 0.5) for i in order
        ]
