"""Scenes for the annotation-effort simulator: synthetic streets and rooms with exact truth.

Each scene is a ``label360.synthetic`` scene (``make_scene``) seen from a camera whose yaw is
varied (so different objects straddle the seam), plus objects that the generators do not
place but that a 360° annotator meets near the poles:

* boxes, whose exact visible polygons come from the renderer's own silhouette and occlusion
  code (``instance_geometry``): road markings (lane dashes, a stop line passing under the
  camera), square drain covers, overhead signs and a cable beam above the road, rugs and
  panel lamps in rooms;
* flat discs (round manhole covers, round ceiling lamps — the room's emissive lamp is one of
  them): their outline is a 256-gon on the sphere (edges ≤ 1.4° of the disc's rim, so the
  outline is within ~1e-4 of the disc's radius of the true ellipse), occluded by the boxes in
  front of them with ``label360.sphere.difference``. Box scenes alone would only contain
  straight 3-D edges, i.e. great circles; discs give every mode curved outlines too.

An ``Instance`` is one object's visible region as disjoint spherical parts (lon/lat degrees).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from shapely.geometry import Polygon

from label360.sphere import area, centroid, contains, difference, intersection
from label360.synthetic.raycast import bounding_cap, box_entry
from label360.synthetic.scene import Box, Camera, Scene, make_scene
from label360.synthetic.silhouettes import instance_geometry, silhouette, to_lonlat

#: Vertices of a disc's outline on the sphere.
DISC_VERTICES = 256


@dataclass
class Instance:
    """One object to annotate: its visible region (exact) and where it is on the sphere."""

    name: str  # "street-1/7"
    label: str  # "car", "road marking", "manhole (round)", …
    shape: str  # "box" (straight 3-D edges) or "round" (a disc)
    parts: list  # geometry: disjoint parts [[ring], …], rings [[lon, lat], …]
    area_sr: float
    lon: float  # centroid
    lat: float
    seam: bool  # the region meets both sides of lon ±180
    pole: bool  # the region contains a pole


@dataclass
class Disc:
    """A flat horizontal disc (manhole cover on the ground, round lamp on the ceiling)."""

    label: str
    center: tuple[float, float, float]
    radius: float


# ----------------------------------------------------------------------------- extras


def _footprint(center, size, yaw: float = 0.0) -> Polygon:
    box = Box(0, "pole", tuple(center), tuple(size), yaw)
    xz = box.corners()[:, [0, 2]]
    return Polygon(xz).convex_hull


def _free(boxes: list[Box], center, size, margin: float = 0.05) -> bool:
    """True when a new box clears every existing box whose height range it shares (their
    footprints are apart): the renderer needs disjoint boxes."""
    mine = _footprint(center, size)
    y0, y1 = center[1] - size[1] / 2, center[1] + size[1] / 2
    for b in boxes:
        by0, by1 = b.center[1] - b.size[1] / 2, b.center[1] + b.size[1] / 2
        if y1 < by0 or by1 < y0:
            continue
        if mine.distance(_footprint(b.center, b.size, b.yaw)) < margin:
            return False
    return True


def _add(boxes: list[Box], labels: dict[int, str], label: str, center, size) -> None:
    if not _free(boxes, center, size):
        return
    box = Box(len(boxes) + 1, "pole", tuple(map(float, center)), tuple(map(float, size)))
    boxes.append(box)
    labels[box.id] = label


def street_extras(scene: Scene) -> tuple[list[Box], dict[int, str], list[Disc]]:
    """Road markings, drain covers, overhead signs / beam and manholes around the camera."""
    boxes = list(scene.boxes)
    labels: dict[int, str] = {}
    cx, cy, _ = scene.camera.position
    for z in (-10.5, -4.5, 1.5, 7.5):  # dashes of the centre line (x = 0)
        _add(boxes, labels, "road marking", (0.0, 0.005, z), (0.15, 0.01, 3.0))
    # a stop line across the lane just behind the camera: long, thin, close to the nadir
    _add(boxes, labels, "road marking", (cx, 0.005, -0.95), (3.2, 0.01, 0.4))
    _add(boxes, labels, "road marking", (cx + 1.1, 0.005, 2.6), (0.5, 0.01, 2.5))  # zebra
    _add(boxes, labels, "drain cover", (cx - 0.9, 0.01, 0.45), (0.6, 0.02, 0.6))
    _add(boxes, labels, "overhead sign", (cx + 0.6, 5.4, 2.2), (2.0, 0.8, 0.08))
    _add(boxes, labels, "overhead sign", (cx - 0.5, 5.0, -8.0), (2.4, 0.9, 0.08))
    _add(boxes, labels, "overhead beam", (0.0, 6.2, 0.9), (8.0, 0.15, 0.15))
    discs = [
        Disc("manhole", (cx + 0.8, 0.0, 0.7), 0.35),
        Disc("manhole", (cx + 2.2, 0.0, -3.5), 0.35),
        Disc("manhole", (cx - 0.3, 0.0, 0.75), 0.3),
    ]
    return boxes, labels, discs


def room_extras(scene: Scene) -> tuple[list[Box], dict[int, str], list[Disc]]:
    """Panel lamps and a rug (boxes), the room's own round lamp plus one above the camera."""
    boxes = list(scene.boxes)
    labels: dict[int, str] = {}
    lo, hi = scene.stuff["min"], scene.stuff["max"]
    h = hi[1]

    def inside(x: float, z: float, m: float = 0.8) -> bool:
        return lo[0] + m < x < hi[0] - m and lo[2] + m < z < hi[2] - m

    for x, z in ((1.3, -0.9), (-1.2, 1.7), (0.0, -0.7)):
        if inside(x, z):
            _add(boxes, labels, "ceiling lamp (panel)", (x, h - 0.025, z), (0.6, 0.04, 1.2))
    for x, z in ((0.9, 1.1), (-1.1, -1.4)):
        if inside(x, z):
            _add(boxes, labels, "rug", (x, 0.005, z), (1.4, 0.01, 0.9))
    lamp = scene.lights["lamp_position"]
    discs = [
        Disc("ceiling lamp (round)", (lamp[0], h, lamp[2]), scene.lights["lamp_radius"]),
        Disc("ceiling lamp (round)", (0.1, h, 0.05), 0.25),
    ]
    return boxes, labels, discs


# ----------------------------------------------------------------------------- discs


def disc_ring(disc: Disc, camera: Camera) -> np.ndarray:
    """The disc's outline as unit vectors (DISC_VERTICES, 3) in the camera frame."""
    t = np.arange(DISC_VERTICES) * 2 * math.pi / DISC_VERTICES
    pts = np.asarray(disc.center, float) + disc.radius * np.stack(
        [np.cos(t), np.zeros_like(t), np.sin(t)], axis=1
    )
    rel = pts - np.asarray(camera.position, float)
    rel /= np.linalg.norm(rel, axis=1, keepdims=True)
    return rel @ camera.rotation()  # world → camera frame


def disc_parts(disc: Disc, boxes: list[Box], camera: Camera) -> list:
    """Visible parts of a disc: its outline minus the silhouettes of boxes in front of it.

    Disc and boxes are disjoint convex bodies, so one ray through an overlap decides which
    is nearer (the renderer's rule). Discs lie on the floor / ceiling: they hide no box."""
    ring = [to_lonlat(disc_ring(disc, camera))]
    origin = np.asarray(camera.position, float)
    rot = camera.rotation()
    visible: list = [ring]
    dv = disc_ring(disc, camera)
    axis = dv.sum(axis=0)
    axis /= np.linalg.norm(axis)
    reach = float(np.arccos(np.clip(dv @ axis, -1, 1)).max())
    for box in boxes:
        b_axis, b_reach = bounding_cap(box, camera)
        if float(np.arccos(np.clip(axis @ b_axis, -1, 1))) > reach + b_reach:
            continue
        sil = [to_lonlat(silhouette(box, camera))]
        common = intersection(ring, sil)
        if not common or area(common) < 1e-12:
            continue
        lon, lat = centroid(common)
        d_cam = np.array(
            [
                math.cos(math.radians(lat)) * math.sin(math.radians(lon)),
                math.sin(math.radians(lat)),
                math.cos(math.radians(lat)) * math.cos(math.radians(lon)),
            ]
        )
        d = rot @ d_cam
        t_box = box_entry(box, origin, d[None, :], want_normals=False)[0][0]
        t_disc = (disc.center[1] - origin[1]) / d[1]
        if t_box < t_disc:
            visible = difference(visible, sil)
            if not visible:
                return []
    return visible


# ----------------------------------------------------------------------------- instances


def _seam(parts: list) -> bool:
    """Does the region meet both sides of the ±180 meridian (i.e. cross the seam)?"""
    lons = np.concatenate([np.asarray(r)[:, 0] for p in parts for r in p])
    return bool(lons.min() < -90 and lons.max() > 90 and _crosses(parts))


def _crosses(parts: list) -> bool:
    for p in parts:
        for ring in p:
            a = np.asarray(ring)[:, 0]
            d = np.abs(np.diff(np.append(a, a[0])))
            if (d > 180).any():
                return True
    return False


def _instance(name, label, shape, parts) -> Instance:
    lon, lat = centroid(parts)
    pole = bool(contains(parts, 0.0, 90.0) or contains(parts, 0.0, -90.0))
    return Instance(name, label, shape, parts, area(parts), lon, lat, _seam(parts) or pole, pole)


def scene_instances(kind: str, seed: int, yaw: float) -> list[Instance]:
    """Every visible object of one scene (generated scene + extras) seen with camera ``yaw``."""
    scene = make_scene(kind, seed)
    camera = replace(scene.camera, yaw=float(yaw))
    extras = street_extras if kind == "street" else room_extras
    boxes, labels, discs = extras(scene)
    out: list[Instance] = []
    for g in instance_geometry(boxes, camera):
        if not g["geometry"]:
            continue
        label = labels.get(g["id"], g["class"])
        if g["id"] == 1:
            label = "tripod"
        elif kind == "room" and g["class"] == "person":
            label = "cameraman"
        out.append(_instance(f"{kind}-{seed}/{g['id']}", label, "box", g["geometry"]))
    for k, disc in enumerate(discs):
        parts = disc_parts(disc, boxes, camera)
        if parts:
            out.append(_instance(f"{kind}-{seed}/d{k}", disc.label, "round", parts))
    return out
