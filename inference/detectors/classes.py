"""From detections to a project's classes: faces, text, and text that looks like a plate.

A project maps the detector outputs ``face``, ``text`` and ``plate`` to its own class names
(any may be left out). A text detection is offered as a **plate** when its box has a
licence plate's shape and place:

* aspect (long side / short side, measured on the sphere) between 1.8 and 6 — EU plates are
  4.7:1, US ones 2:1;
* at most ``PLATE_MAX_DEG`` long (a plate 52 cm wide seen from 1 m is ~29°);
* below the horizon (latitude < 5°): cameras stand higher than number plates;
* nearly level (its long side within 25° of the local horizontal);
* when text was read: 3–10 letters/digits, mostly capitals and digits.

Its score is the detection score times the recognition confidence. Otherwise it is ``text``.
Recognised text goes into the instance's attributes (``text``, ``text_score``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from label360.sphere.polygons import ring_vectors

OUTPUTS = ("face", "text", "plate")
PLATE_ASPECT = (1.8, 6.0)
PLATE_MAX_DEG = 30.0
PLATE_MAX_LAT = 5.0
PLATE_MAX_TILT = 25.0
_ALNUM = re.compile(r"[A-Za-z0-9]")


@dataclass
class Mapped:
    """A detection assigned to a project class, ready to store as a suggestion."""

    class_name: str
    output: str  # face | text | plate
    geometry: list
    score: float
    attributes: dict = field(default_factory=dict)


def quad_shape(geometry: list) -> tuple[float, float, float]:
    """(long side, short side, tilt of the long side from the local horizontal), degrees,
    of a quad's outer ring (sides averaged over the opposite pair)."""
    v = ring_vectors(np.asarray(geometry[0][0], np.float64))
    if len(v) != 4:
        raise ValueError("not a quad")

    def ang(a, b):
        return math.degrees(math.acos(float(np.clip(a @ b, -1.0, 1.0))))

    s01 = (ang(v[0], v[1]) + ang(v[3], v[2])) / 2.0
    s12 = (ang(v[1], v[2]) + ang(v[0], v[3])) / 2.0
    a, b = (v[0], v[1]) if s01 >= s12 else (v[1], v[2])
    c = v.sum(axis=0)
    c /= np.linalg.norm(c)
    d = b - a
    north = np.array([0.0, 1.0, 0.0]) - c * c[1]
    east = np.cross(north, c)
    tilt = math.degrees(math.atan2(abs(float(d @ north)), abs(float(d @ east)) + 1e-15))
    return max(s01, s12), min(s01, s12), tilt


def plate_like(geometry: list, centre_lat: float, text: str = "") -> bool:
    """Whether a text box has a licence plate's shape, position and (if read) content."""
    try:
        long_side, short_side, tilt = quad_shape(geometry)
    except ValueError:
        return False
    aspect = long_side / max(short_side, 1e-9)
    if not (PLATE_ASPECT[0] <= aspect <= PLATE_ASPECT[1]) or long_side > PLATE_MAX_DEG:
        return False
    if centre_lat >= PLATE_MAX_LAT or tilt > PLATE_MAX_TILT:
        return False
    if text:
        chars = _ALNUM.findall(text)
        if not 3 <= len(chars) <= 10:
            return False
        upper = sum(ch.isupper() or ch.isdigit() for ch in chars)
        if upper < 0.7 * len(chars):
            return False
    return True


def map_detections(detections, mapping: dict[str, str], min_score: float = 0.0) -> list[Mapped]:
    """Detections (:class:`.scan.Detection`) → suggestions of the mapped project classes.

    Outputs without a class in ``mapping`` are dropped; a plate-like text detection becomes a
    plate when ``plate`` is mapped, else text; text the recogniser reads nothing from is
    dropped (plates are kept: a plate must be blurred even when it is unreadable)."""
    out = []
    for d in detections:
        attributes: dict = {"detector": d.kind}
        score = float(d.score)
        if d.kind == "face":
            output = "face"
            if d.landmarks:
                attributes["landmarks"] = [[round(x, 5) for x in p] for p in d.landmarks]
        else:
            output = "text"
            if "plate" in mapping and plate_like(d.geometry, d.centre[1], d.text):
                output = "plate"
                if d.text:
                    score *= max(float(d.text_score), 0.0)
            elif not d.text:
                # a text region nothing can be read from is mostly texture (railings, fences,
                # tiles); as a text suggestion it costs a reviewer a click for nothing
                continue
            if d.text:
                attributes["text"] = d.text[:200]
                attributes["text_score"] = round(float(d.text_score), 4)
        if output not in mapping or score < min_score:
            continue
        out.append(Mapped(mapping[output], output, d.geometry, score, attributes))
    return out
