"""Text detection and recognition with the PP-OCRv4 ONNX models (run by onnxruntime).

Detection is DB ("Real-time Scene Text Detection with Differentiable Binarization", Liao et
al. 2020): the network outputs a per-pixel text probability; connected regions of the
thresholded map become minimum-area rectangles, scored by their mean probability, and are
expanded ("unclipped") by ``area × ratio / perimeter`` because the network is trained on
shrunk text kernels. Recognition is CRNN-style with CTC: each quad is warped to a 48 px high
strip, the network outputs per-column character probabilities, greedy CTC decoding (drop
repeats, then blanks) gives the string. The character list is the model's own metadata.

Coordinates are index coordinates of the image (pixel centres at integers). Images are RGB
uint8; the models were trained on BGR, which is handled here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .weights import RAPIDOCR as SOURCE
from .weights import WeightsError, weight_bytes

#: recognition input height, and the longest strip (width / height) recognised in one piece
REC_HEIGHT = 48
MAX_REC_RATIO = 25.0


def _session(name: str, root: Path | None, threads: int | None):
    import onnxruntime as ort

    data = weight_bytes(SOURCE, name, root)
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise WeightsError(f"text model {name} could not be loaded by onnxruntime: {exc}") from exc


@dataclass
class TextBox:
    """A detected text region: quad (4, 2) clockwise from top-left, score, recognised text."""

    quad: np.ndarray
    score: float
    text: str = ""
    text_score: float = 0.0


def _to_input(rgb: np.ndarray) -> np.ndarray:
    """RGB uint8 → normalised BGR (1, 3, H, W) float32, as the models were trained."""
    x = rgb[..., ::-1].astype(np.float32) * (2.0 / 255.0) - 1.0
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def order_quad(points: np.ndarray) -> np.ndarray:
    """4 points ordered top-left, top-right, bottom-right, bottom-left (image y down)."""
    pts = np.asarray(points, np.float64).reshape(4, 2)
    by_x = pts[np.argsort(pts[:, 0], kind="stable")]
    left, right = by_x[:2], by_x[2:]
    tl, bl = left[np.argsort(left[:, 1], kind="stable")]
    tr, br = right[np.argsort(right[:, 1], kind="stable")]
    return np.array([tl, tr, br, bl])


class TextDetector:
    """PP-OCRv4 detection (+ recognition) on RGB uint8 images."""

    def __init__(
        self,
        root: Path | None = None,
        threshold: float = 0.3,
        box_threshold: float = 0.5,
        unclip_ratio: float = 1.6,
        min_side: float = 3.0,
        threads: int | None = None,
        recognise: bool = True,
    ) -> None:
        self.det = _session("det.onnx", root, threads)
        self.rec = _session("rec.onnx", root, threads) if recognise else None
        if self.rec is not None:
            meta = self.rec.get_modelmeta().custom_metadata_map
            if "character" not in meta:
                raise WeightsError("text model rec.onnx carries no character list")
            chars = meta["character"].splitlines()
            # CTC class 0 is the blank; the list ends with the space character
            self.characters = ["", *chars, " "]
            classes = self.rec.get_outputs()[0].shape[-1]
            if isinstance(classes, int) and classes != len(self.characters):
                raise WeightsError(
                    f"text model rec.onnx: {classes} classes but {len(self.characters)} characters"
                )
        self.threshold = threshold
        self.box_threshold = box_threshold
        self.unclip_ratio = unclip_ratio
        self.min_side = min_side

    # -- detection ---------------------------------------------------------------------------
    def probability(self, rgb: np.ndarray) -> np.ndarray:
        """Text probability map at the image's size (the network needs sides divisible by 32)."""
        h, w = rgb.shape[:2]
        ph, pw = -(-h // 32) * 32, -(-w // 32) * 32
        if (ph, pw) != (h, w):  # pad (not resize): keeps the scale the caller chose
            rgb = cv2.copyMakeBorder(rgb, 0, ph - h, 0, pw - w, cv2.BORDER_CONSTANT, value=0)
        out = self.det.run(None, {self.det.get_inputs()[0].name: _to_input(rgb)})[0]
        return out[0, 0, :h, :w]

    def detect(self, rgb: np.ndarray, recognise: bool = True) -> list[TextBox]:
        """Text regions of an (H, W, 3) uint8 RGB image, highest score first."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError("TextDetector.detect needs an (H, W, 3) uint8 RGB image")
        prob = self.probability(rgb)
        boxes = self.boxes_from_probability(prob)
        if recognise and self.rec is not None and boxes:
            self.recognise(rgb, boxes)
        return sorted(boxes, key=lambda b: -b.score)

    def boxes_from_probability(self, prob: np.ndarray) -> list[TextBox]:
        mask = (prob > self.threshold).astype(np.uint8)
        mask = cv2.dilate(mask, np.ones((2, 2), np.uint8))
        contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        h, w = prob.shape
        out = []
        for contour in contours[:1000]:
            if len(contour) < 4:
                continue
            (cx, cy), (rw, rh), angle = cv2.minAreaRect(contour)
            if min(rw, rh) < self.min_side:
                continue
            score = self._box_score(prob, contour)
            if score < self.box_threshold:
                continue
            # unclip: offset the rectangle by area * ratio / perimeter on every side
            d = rw * rh * self.unclip_ratio / max(2.0 * (rw + rh), 1e-6)
            rect = ((cx, cy), (rw + 2 * d, rh + 2 * d), angle)
            if min(rect[1]) < self.min_side + 2:
                continue
            quad = order_quad(cv2.boxPoints(rect))
            quad[:, 0] = np.clip(quad[:, 0], -0.5, w - 0.5)
            quad[:, 1] = np.clip(quad[:, 1], -0.5, h - 0.5)
            out.append(TextBox(quad=quad, score=float(score)))
        return out

    @staticmethod
    def _box_score(prob: np.ndarray, contour: np.ndarray) -> float:
        x, y, bw, bh = cv2.boundingRect(contour)
        region = np.zeros((bh, bw), np.uint8)
        cv2.fillPoly(region, [contour.reshape(-1, 2) - [x, y]], 1)
        values = prob[y : y + bh, x : x + bw]
        return float(cv2.mean(values, region)[0])

    # -- recognition ---------------------------------------------------------------------------
    def recognise(self, rgb: np.ndarray, boxes: list[TextBox], batch: int = 8) -> None:
        """Fill ``text`` and ``text_score`` of each box (greedy CTC decoding)."""
        strips = [self._strip(rgb, b.quad) for b in boxes]
        order = np.argsort([s.shape[1] / s.shape[0] for s in strips])
        for start in range(0, len(order), batch):
            idx = order[start : start + batch]
            ratio = max(strips[i].shape[1] / strips[i].shape[0] for i in idx)
            width = int(math.ceil(REC_HEIGHT * min(max(ratio, 320 / REC_HEIGHT), MAX_REC_RATIO)))
            x = np.zeros((len(idx), 3, REC_HEIGHT, width), np.float32)
            for row, i in enumerate(idx):
                s = strips[i]
                sw = min(width, max(1, int(math.ceil(REC_HEIGHT * s.shape[1] / s.shape[0]))))
                resized = cv2.resize(s, (sw, REC_HEIGHT), interpolation=cv2.INTER_LINEAR)
                x[row, :, :, :sw] = _to_input(resized)[0]
            probs = self.rec.run(None, {self.rec.get_inputs()[0].name: x})[0]
            for row, i in enumerate(idx):
                boxes[i].text, boxes[i].text_score = self._decode(probs[row])

    def _decode(self, probs: np.ndarray) -> tuple[str, float]:
        best = probs.argmax(axis=1)
        conf = probs.max(axis=1)
        keep = np.ones(len(best), bool)
        keep[1:] = best[1:] != best[:-1]
        keep &= best != 0
        if not keep.any():
            return "", 0.0
        text = "".join(self.characters[i] for i in best[keep] if i < len(self.characters))
        return text.strip(), float(conf[keep].mean())

    @staticmethod
    def _strip(rgb: np.ndarray, quad: np.ndarray) -> np.ndarray:
        """The quad warped to an upright rectangle (rotated if it stands upright)."""
        q = np.asarray(quad, np.float32) + 0.5  # index → continuous coordinates for warping
        w = int(max(np.linalg.norm(q[0] - q[1]), np.linalg.norm(q[3] - q[2]), 2))
        h = int(max(np.linalg.norm(q[0] - q[3]), np.linalg.norm(q[1] - q[2]), 2))
        target = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
        m = cv2.getPerspectiveTransform(q, target)
        strip = cv2.warpPerspective(
            rgb, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
        )
        if h >= 1.5 * w:
            strip = np.ascontiguousarray(np.rot90(strip))
        return strip
