"""The two pretrained detectors behind one small interface used by the sphere scan.

An adapter has a ``kind`` ("face", "text"), a :class:`.layout.Scale` (which object sizes
to look for and how the detector must see them), and ``detect(rgb, size_px, recognise)``
returning :class:`RawDetection` quads in the view's index coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from .layout import Scale


@dataclass
class RawDetection:
    """A detection in one view: quad (4, 2) clockwise from top-left, score, optional
    landmarks (k, 2), optional recognised text."""

    quad: np.ndarray
    score: float
    points: np.ndarray | None = None
    text: str = ""
    text_score: float = 0.0


class Adapter(Protocol):
    kind: str
    scale: Scale
    #: drop candidates the fine view does not confirm
    confirm: bool
    #: spherical IoU a fine detection needs with its candidate to replace it
    confirm_iou: float

    def detect(
        self, rgb: np.ndarray, size_px: tuple[float, float], recognise: bool
    ) -> list[RawDetection]: ...


#: Faces of 2.5°–40° (a face 20 cm high from 0.3 to 4.5 m), upright within 20° (MTCNN is
#: trained on upright faces); P-Net's smallest reliable face is ~20 px.
FACE_SCALE = Scale(min_deg=2.5, max_deg=40.0, min_px=20.0, span=2.5, max_tilt=20.0, focus_px=80.0)
#: Text boxes whose longer side is 4°–40°; DB finds words whose longer side is ~32 px
#: (about 8 px high). Words tilted by more than ~25° in a view are missed when they are that
#: small (seen near the poles, where a view's "up" turns away from the local meridian).
TEXT_SCALE = Scale(min_deg=4.0, max_deg=40.0, min_px=32.0, span=2.5, max_tilt=25.0, focus_px=160.0)


class FaceAdapter:
    """MTCNN faces: square boxes with five landmarks."""

    kind = "face"
    confirm = True
    confirm_iou = 0.3

    def __init__(self, root: Path | None = None, scale: Scale = FACE_SCALE, detector=None):
        from .mtcnn import MTCNN

        self.detector = detector or MTCNN(root)
        self.scale = scale

    def detect(
        self, rgb: np.ndarray, size_px: tuple[float, float], recognise: bool = False
    ) -> list[RawDetection]:
        lo, hi = size_px
        faces = self.detector.detect(rgb, min_face=max(12.0, lo * 0.9), max_face=hi * 1.1)
        out = []
        for face in faces:
            x0, y0, x1, y1 = face.box
            quad = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
            out.append(RawDetection(quad, face.score, points=face.landmarks))
        return out


class TextAdapter:
    """PP-OCRv4 text boxes (rotated quads); recognition on request (the fine pass)."""

    kind = "text"
    confirm = True
    confirm_iou = 0.3

    def __init__(self, root: Path | None = None, scale: Scale = TEXT_SCALE, detector=None):
        from .text import TextDetector

        # one thread per session: the scan runs one view per core in parallel threads
        self.detector = detector or TextDetector(root, threads=1)
        self.scale = scale

    def detect(
        self, rgb: np.ndarray, size_px: tuple[float, float], recognise: bool = False
    ) -> list[RawDetection]:
        lo, _hi = size_px
        boxes = self.detector.detect(rgb, recognise=False)
        keep = []
        for box in boxes:
            q = box.quad
            longer = max(np.linalg.norm(q[0] - q[1]), np.linalg.norm(q[1] - q[2]))
            if longer >= 0.7 * lo:
                keep.append(box)
        if recognise and keep:
            self.detector.recognise(rgb, keep)
        return [RawDetection(b.quad, b.score, text=b.text, text_score=b.text_score) for b in keep]
