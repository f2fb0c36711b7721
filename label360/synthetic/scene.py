"""Scene description for the synthetic renderer: classes, camera, boxes and scene generators.

Everything here is plain data (dataclasses that round-trip through JSON) plus the seeded
generators ``make_scene("room" | "street", seed)``. World frame = the sphere convention of
docs/CONVENTIONS: x right (east), y up, z forward; metres. The ground/floor is the plane y = 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

# Stable class ids (index = id). 0 is reserved ("none") and never appears in a render; the
# names match the demo project's label set.
CLASSES: tuple[str, ...] = (
    "none",
    "building",
    "car",
    "person",
    "road",
    "sky",
    "tree",
    "pole",
    "furniture",
    "wall",
    "floor",
    "ceiling",
)
CLASS_IDS: dict[str, int] = {name: i for i, name in enumerate(CLASSES)}
# Classes rendered as 'stuff' (instance id 0, no polygons): they are larger than a hemisphere.
STUFF_CLASSES: frozenset[str] = frozenset({"road", "sky", "wall", "floor", "ceiling"})
SCENE_KINDS: tuple[str, ...] = ("room", "street")


def rot_y(deg: float) -> np.ndarray:
    """Rotation about +y by ``deg``; maps forward (+z) towards +x (east) for positive angles."""
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rot_x(deg: float) -> np.ndarray:
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rot_z(deg: float) -> np.ndarray:
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class Camera:
    """Panorama camera pose.

    ``rotation()`` maps camera-frame directions (those of the equirect pixels) to the world:
    R = Ry(yaw) · Rx(−pitch) · Rz(−roll), the same formula and meaning as a view in
    CONVENTIONS.md, so yaw=90 makes the image centre look at world lon=90.
    """

    position: tuple[float, float, float] = (0.0, 1.6, 0.0)
    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0

    def rotation(self) -> np.ndarray:
        return rot_y(self.yaw) @ rot_x(-self.pitch) @ rot_z(-self.roll)

    def to_dict(self) -> dict[str, Any]:
        return {
            "position": [float(v) for v in self.position],
            "yaw": float(self.yaw),
            "pitch": float(self.pitch),
            "roll": float(self.roll),
            "rotation_matrix": self.rotation().tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Camera:
        return cls(
            position=tuple(float(v) for v in d["position"]),
            yaw=float(d.get("yaw", 0.0)),
            pitch=float(d.get("pitch", 0.0)),
            roll=float(d.get("roll", 0.0)),
        )


@dataclass
class Box:
    """An oriented box object (one instance). ``yaw`` rotates the box about +y (degrees).
    ``rig``: part of the camera's own rig (the tripod under it, the cameraman behind it),
    which a 360° camera films at its nadir."""

    id: int
    cls: str
    center: tuple[float, float, float]
    size: tuple[float, float, float]
    yaw: float = 0.0
    material: dict[str, Any] = field(default_factory=dict)
    rig: bool = False

    def rotation(self) -> np.ndarray:
        """Local → world rotation."""
        return rot_y(self.yaw)

    def corners(self) -> np.ndarray:
        """The 8 corners in world coordinates, shape (8, 3)."""
        h = np.asarray(self.size, float) / 2.0
        signs = np.array(
            [[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], float
        )
        return np.asarray(self.center, float) + (signs * h) @ self.rotation().T

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "box",
            "id": int(self.id),
            "class": self.cls,
            "class_id": CLASS_IDS[self.cls],
            "center": [float(v) for v in self.center],
            "size": [float(v) for v in self.size],
            "yaw": float(self.yaw),
            "material": self.material,
            "rig": bool(self.rig),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Box:
        return cls(
            id=int(d["id"]),
            cls=str(d["class"]),
            center=tuple(float(v) for v in d["center"]),
            size=tuple(float(v) for v in d["size"]),
            yaw=float(d.get("yaw", 0.0)),
            material=dict(d.get("material", {})),
            rig=bool(d.get("rig", False)),
        )


@dataclass
class Scene:
    """A complete scene: stuff (room shell or ground + sky), boxes, lights, default camera.

    ``stuff`` for a room: {"type": "room", "min": [x,0,z], "max": [x,h,z], "materials": {...}};
    for a street: {"type": "street", "ground_y": 0, "sidewalk_x": s, "materials": {...}}.
    ``lights``: room {"lamp_position", "lamp_intensity", "lamp_radius", "lamp_radiance",
    "ambient"}; street {"sun_direction", "sun_irradiance", "sun_radius_deg", "sun_radiance",
    "sky_zenith", "sky_horizon", "ambient"}. All colours are linear RGB.
    """

    kind: str
    seed: int
    stuff: dict[str, Any]
    boxes: list[Box]
    lights: dict[str, Any]
    camera: Camera

    def without_rig(self) -> Scene:
        """The same scene without the camera's rig: the true ground under the tripod and the
        cameraman (what removing them should give back)."""
        return replace(self, boxes=[b for b in self.boxes if not b.rig])

    def box_by_id(self, instance_id: int) -> Box:
        for b in self.boxes:
            if b.id == instance_id:
                return b
        raise KeyError(instance_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "seed": int(self.seed),
            "classes": list(CLASSES),
            "stuff": self.stuff,
            "objects": [b.to_dict() for b in self.boxes],
            "lights": self.lights,
            "default_camera": self.camera.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Scene:
        return cls(
            kind=str(d["kind"]),
            seed=int(d["seed"]),
            stuff=dict(d["stuff"]),
            boxes=[Box.from_dict(o) for o in d["objects"]],
            lights=dict(d["lights"]),
            camera=Camera.from_dict(d["default_camera"]),
        )


# ----------------------------------------------------------------------------- generators


def _color(rng: np.random.Generator, lo: float, hi: float, tint: float = 0.15) -> list[float]:
    """A random linear-RGB colour: a grey level in [lo, hi] with a mild random tint."""
    base = rng.uniform(lo, hi)
    c = base * (1.0 + rng.uniform(-tint, tint, 3))
    return [round(float(v), 4) for v in np.clip(c, 0.01, 0.95)]


def _material(rng: np.random.Generator, pattern: str, **colors: list[float]) -> dict[str, Any]:
    return {"pattern": pattern, "seed": int(rng.integers(0, 2**31 - 1)), **colors}


class _Footprints:
    """Rejection sampling helper: keeps object footprints (circles / rectangles) disjoint.

    Boxes must never intersect each other or contain the camera: the renderer's occlusion
    ordering and the silhouette construction rely on that.
    """

    def __init__(self) -> None:
        self.circles: list[tuple[float, float, float]] = []
        self.rects: list[tuple[float, float, float, float]] = []

    def free_circle(self, x: float, z: float, r: float) -> bool:
        for cx, cz, cr in self.circles:
            if math.hypot(x - cx, z - cz) < r + cr:
                return False
        for x0, z0, x1, z1 in self.rects:
            dx = max(x0 - x, 0.0, x - x1)
            dz = max(z0 - z, 0.0, z - z1)
            if math.hypot(dx, dz) < r:
                return False
        return True

    def add_circle(self, x: float, z: float, r: float) -> None:
        self.circles.append((x, z, r))

    def add_rect(self, x0: float, z0: float, x1: float, z1: float) -> None:
        self.rects.append((x0, z0, x1, z1))


def _footprint_radius(size: tuple[float, float, float]) -> float:
    return 0.5 * math.hypot(size[0], size[2])


def _camera_rig(
    rng: np.random.Generator,
    cam_y: float,
    boxes: list[Box],
    fp: _Footprints,
    person: bool,
    cam_x: float = 0.0,
) -> None:
    """Tripod under the camera (class pole) and, optionally, a cameraman just behind it.

    They are close to the camera, so their silhouettes are huge, contain the nadir and (the
    cameraman) straddle the seam: good stress cases for the exact polygons.
    """
    top = cam_y - rng.uniform(0.25, 0.35)
    tripod = Box(
        id=len(boxes) + 1,
        cls="pole",
        center=(cam_x, top / 2.0, 0.0),
        size=(0.07, top, 0.07),
        yaw=float(rng.uniform(0, 90)),
        material=_material(rng, "metal", color=_color(rng, 0.05, 0.12)),
        rig=True,
    )
    boxes.append(tripod)
    fp.add_circle(cam_x, 0.0, _footprint_radius(tripod.size) + 0.05)
    if person:
        phi = 180.0 + rng.uniform(-35.0, 35.0)
        d = rng.uniform(0.6, 0.8)
        height = rng.uniform(1.65, 1.85)
        size = (0.5, height, 0.3)
        x, z = cam_x + d * math.sin(math.radians(phi)), d * math.cos(math.radians(phi))
        boxes.append(
            Box(
                id=len(boxes) + 1,
                cls="person",
                center=(x, height / 2.0, z),
                size=size,
                yaw=phi,
                material=_material(
                    rng,
                    "person",
                    color=_color(rng, 0.05, 0.5, 0.5),
                    color2=_color(rng, 0.03, 0.25, 0.3),
                    skin=_color(rng, 0.35, 0.6, 0.1),
                ),
                rig=True,
            )
        )
        fp.add_circle(x, z, _footprint_radius(size) + 0.05)


FURNITURE = {
    # name: (size ranges x, y, z)
    "table": ((1.0, 1.8), (0.7, 0.8), (0.7, 1.0)),
    "cabinet": ((0.8, 1.3), (1.5, 2.1), (0.4, 0.6)),
    "sofa": ((1.7, 2.3), (0.75, 0.9), (0.85, 1.0)),
    "chair": ((0.45, 0.6), (0.8, 1.0), (0.45, 0.6)),
    "shelf": ((0.8, 1.6), (0.9, 1.9), (0.3, 0.45)),
    "bed": ((1.4, 1.8), (0.5, 0.65), (1.9, 2.1)),
}


def make_room(seed: int) -> Scene:
    """Indoor room: floor/walls/ceiling shell, furniture boxes, a ceiling lamp, tripod + cameraman."""
    rng = np.random.default_rng([seed, 1])
    wx, dz = rng.uniform(6.0, 9.0), rng.uniform(5.0, 8.0)
    height = rng.uniform(2.6, 3.2)
    x0 = -rng.uniform(0.35, 0.65) * wx
    z0 = -rng.uniform(0.35, 0.65) * dz
    lo, hi = (x0, 0.0, z0), (x0 + wx, height, z0 + dz)
    cam_y = rng.uniform(1.4, 1.65)
    camera = Camera(position=(0.0, cam_y, 0.0))
    boxes: list[Box] = []
    fp = _Footprints()
    _camera_rig(rng, cam_y, boxes, fp, person=True)
    # Keep furniture away from the rig so the cameraman does not hide too much of it.
    fp.add_circle(0.0, 0.0, 1.3)
    n_furniture = int(rng.integers(5, 10))
    names = list(FURNITURE)
    attempts = 0
    while sum(b.cls == "furniture" for b in boxes) < n_furniture and attempts < 500:
        attempts += 1
        name = names[int(rng.integers(len(names)))]
        size = tuple(float(rng.uniform(*r)) for r in FURNITURE[name])
        r = _footprint_radius(size)
        x = rng.uniform(lo[0] + r + 0.05, hi[0] - r - 0.05)
        z = rng.uniform(lo[2] + r + 0.05, hi[2] - r - 0.05)
        if not fp.free_circle(x, z, r + 0.05):
            continue
        fp.add_circle(x, z, r)
        pattern = "fabric" if name in ("sofa", "bed", "chair") else "wood"
        boxes.append(
            Box(
                id=len(boxes) + 1,
                cls="furniture",
                center=(float(x), size[1] / 2.0, float(z)),
                size=size,
                yaw=float(rng.uniform(-180, 180)),
                material={
                    **_material(rng, pattern, color=_color(rng, 0.1, 0.6, 0.35)),
                    "name": name,
                },
            )
        )
    lamp = [
        float(rng.uniform(lo[0] + 1.0, hi[0] - 1.0)),
        float(height),
        float(rng.uniform(lo[2] + 1.0, hi[2] - 1.0)),
    ]
    stuff = {
        "type": "room",
        "min": [float(v) for v in lo],
        "max": [float(v) for v in hi],
        "materials": {
            "floor": _material(rng, "planks", color=_color(rng, 0.15, 0.45, 0.3)),
            "wall": _material(rng, "plaster", color=_color(rng, 0.45, 0.8, 0.2)),
            "ceiling": _material(rng, "plaster", color=_color(rng, 0.7, 0.85, 0.05)),
        },
    }
    lights = {
        "lamp_position": lamp,
        "lamp_intensity": float(rng.uniform(8.0, 14.0)),
        "lamp_radius": 0.3,
        "lamp_radiance": [30.0, 28.0, 24.0],
        "ambient": 0.4,
    }
    return Scene("room", seed, stuff, boxes, lights, camera)


def make_street(seed: int) -> Scene:
    """Outdoor street: road/sidewalk ground, building blocks, cars, poles, trees, people, sun."""
    rng = np.random.default_rng([seed, 2])
    cam_y = rng.uniform(1.7, 2.2)
    cam_x = float(rng.uniform(-2.0, -1.0))  # in a lane, not on the centre line
    camera = Camera(position=(cam_x, cam_y, 0.0))
    sidewalk_x = float(rng.uniform(5.5, 7.0))
    boxes: list[Box] = []
    fp = _Footprints()
    _camera_rig(rng, cam_y, boxes, fp, person=False, cam_x=cam_x)

    def add(
        cls: str, center: tuple[float, float, float], size: tuple, yaw: float, mat: dict
    ) -> None:
        boxes.append(Box(len(boxes) + 1, cls, center, tuple(float(s) for s in size), yaw, mat))

    # Building blocks line both sides; axis-aligned so their footprints are simple rectangles.
    for side in (-1.0, 1.0):
        front = sidewalk_x + rng.uniform(3.0, 5.0)
        z = -70.0 + rng.uniform(0, 5)
        while z < 70.0:
            width = rng.uniform(8.0, 20.0)
            depth = rng.uniform(8.0, 14.0)
            h = rng.uniform(6.0, 30.0)
            xc = side * (front + depth / 2.0)
            zc = z + width / 2.0
            add(
                "building",
                (float(xc), h / 2.0, float(zc)),
                (depth, h, width),
                0.0,
                _material(
                    rng,
                    "facade",
                    color=_color(rng, 0.15, 0.6, 0.3),
                    color2=_color(rng, 0.03, 0.12, 0.2),
                    floor_height=round(float(rng.uniform(2.8, 3.6)), 3),
                    window_spacing=round(float(rng.uniform(1.8, 3.2)), 3),
                ),
            )
            fp.add_rect(xc - depth / 2, zc - width / 2, xc + depth / 2, zc + width / 2)
            z += width + rng.uniform(0.5, 6.0)

    def place(cls: str, n: int, sample, mat_fn, tries: int = 300) -> None:
        placed = 0
        for _ in range(tries):
            if placed >= n:
                break
            x, z, size, yaw = sample()
            r = _footprint_radius(size)
            if not fp.free_circle(x, z, r + 0.1):
                continue
            fp.add_circle(x, z, r)
            add(cls, (float(x), size[1] / 2.0, float(z)), size, float(yaw), mat_fn())
            placed += 1

    def parked_car():
        side = rng.choice([-1.0, 1.0])
        size = (rng.uniform(1.7, 2.0), rng.uniform(1.4, 1.7), rng.uniform(3.8, 4.8))
        return side * (sidewalk_x - 1.3), rng.uniform(-45, 45), size, rng.uniform(-4, 4)

    def driving_car():
        side = rng.choice([-1.0, 1.0])
        size = (rng.uniform(1.7, 2.0), rng.uniform(1.4, 1.7), rng.uniform(3.8, 4.8))
        z = rng.choice([-1.0, 1.0]) * rng.uniform(6, 40)
        return side * rng.uniform(1.8, 2.6), z, size, rng.uniform(-3, 3)

    def car_mat():
        return _material(rng, "car", color=_color(rng, 0.05, 0.7, 0.6), color2=[0.02, 0.025, 0.03])

    def pole():
        side = rng.choice([-1.0, 1.0])
        h = rng.uniform(5.0, 8.0)
        return side * (sidewalk_x + 0.4), rng.uniform(-50, 50), (0.2, h, 0.2), rng.uniform(0, 90)

    def tree():
        side = rng.choice([-1.0, 1.0])
        w = rng.uniform(1.2, 2.2)
        h = rng.uniform(3.5, 7.0)
        return side * (sidewalk_x + 1.6), rng.uniform(-50, 50), (w, h, w), rng.uniform(0, 90)

    def person():
        side = rng.choice([-1.0, 1.0])
        size = (0.5, rng.uniform(1.55, 1.9), 0.32)
        x = side * (sidewalk_x + rng.uniform(0.4, 2.5))
        return x, rng.uniform(-30, 30), size, rng.uniform(-180, 180)

    place("car", int(rng.integers(4, 9)), parked_car, car_mat)
    place("car", int(rng.integers(1, 3)), driving_car, car_mat)
    place(
        "pole",
        int(rng.integers(3, 7)),
        pole,
        lambda: _material(rng, "metal", color=_color(rng, 0.2, 0.4)),
    )
    place(
        "tree",
        int(rng.integers(3, 8)),
        tree,
        lambda: _material(
            rng, "foliage", color=_color(rng, 0.05, 0.15, 0.3), color2=[0.12, 0.07, 0.03]
        ),
    )
    place(
        "person",
        int(rng.integers(2, 6)),
        person,
        lambda: _material(
            rng,
            "person",
            color=_color(rng, 0.05, 0.5, 0.5),
            color2=_color(rng, 0.03, 0.25, 0.3),
            skin=_color(rng, 0.35, 0.6, 0.1),
        ),
    )
    az = math.radians(rng.uniform(-180, 180))
    el = math.radians(rng.uniform(35, 60))
    sun = [math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az)]
    stuff = {
        "type": "street",
        "ground_y": 0.0,
        "sidewalk_x": sidewalk_x,
        "materials": {
            "road": _material(
                rng,
                "asphalt",
                color=_color(rng, 0.06, 0.12, 0.05),
                color2=_color(rng, 0.25, 0.4, 0.1),
            ),
        },
    }
    lights = {
        "sun_direction": [float(v) for v in sun],
        "sun_irradiance": float(rng.uniform(2.5, 3.5)),
        "sun_radius_deg": 1.5,
        "sun_radiance": [60.0, 55.0, 45.0],
        "sky_zenith": [0.18, 0.32, 0.75],
        "sky_horizon": [0.7, 0.8, 0.95],
        "ambient": 0.35,
    }
    return Scene("street", seed, stuff, boxes, lights, camera)


def make_scene(kind: str, seed: int) -> Scene:
    """Seeded scene generator; the same (kind, seed) always gives the same scene."""
    if kind == "room":
        return make_room(seed)
    if kind == "street":
        return make_street(seed)
    raise ValueError(f"unknown scene kind {kind!r}; expected one of {SCENE_KINDS}")
