"""What the depth module writes: depth (NPY/EXR), a colour preview, normals, a point cloud.

Frames: the panorama's camera frame of CONVENTIONS.md (x east, y up, z forward); the pixel
at row r, column c looks along ``equirect_directions(W, H)[r * W + c]``. Depth is DISTANCE
ALONG THE RAY (not z-depth), in the fused result's arbitrary global unit (monocular depth is
known up to one scale for the whole panorama; the geometric prior is in metres).
"""

from __future__ import annotations

import io

import numpy as np

from label360.sphere.projection import equirect_directions


def points(distance: np.ndarray) -> np.ndarray:
    """3-D points (H, W, 3) float32 of an equirect distance map."""
    h, w = distance.shape
    return equirect_directions(w, h).reshape(h, w, 3) * distance[..., None]


def normals_from_distance(distance: np.ndarray) -> np.ndarray:
    """Unit surface normals (H, W, 3) float32, facing the camera, from depth on the sphere.

    Tangents are central differences of the 3-D points along longitude (wrapping at the
    seam) and latitude (one-sided at the poles).
    """
    p = points(distance).astype(np.float64)
    d_lon = np.roll(p, -1, axis=1) - np.roll(p, 1, axis=1)
    d_lat = np.empty_like(p)
    d_lat[1:-1] = p[2:] - p[:-2]
    d_lat[0] = p[1] - p[0]
    d_lat[-1] = p[-1] - p[-2]
    n = np.cross(d_lon, d_lat)
    norm = np.linalg.norm(n, axis=-1, keepdims=True)
    n = np.where(norm > 0, n / np.maximum(norm, 1e-30), 0.0)
    facing = np.sum(n * p, axis=-1, keepdims=True) > 0
    return np.where(facing, -n, n).astype(np.float32)


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array))
    return buffer.getvalue()


def exr_bytes(distance: np.ndarray) -> bytes:
    """Single-channel (``Y``) float32 ZIP-compressed EXR via :mod:`label360.exr`.

    OpenCV 5 wheels are built without OpenEXR, so this does not go through ``cv2``;
    ``label360.exr.read_exr`` reads it back bit-exactly (H, W) float32.
    """
    from label360.exr import write_exr

    return write_exr(np.asarray(distance, dtype=np.float32))


def _turbo(t: np.ndarray) -> np.ndarray:
    import cv2

    gray = np.clip(t * 255 + 0.5, 0, 255).astype(np.uint8)
    return cv2.applyColorMap(gray, cv2.COLORMAP_TURBO)[:, :, ::-1]


def preview_png(distance: np.ndarray, max_width: int = 2048) -> bytes:
    """Colourised inverse-depth preview (near = warm) as PNG bytes."""
    import cv2
    from PIL import Image

    inv = 1.0 / np.maximum(distance, 1e-6)
    lo, hi = np.percentile(inv, [1, 99])
    rgb = _turbo((inv - lo) / max(hi - lo, 1e-12))
    if rgb.shape[1] > max_width:
        rgb = cv2.resize(rgb, (max_width, max_width // 2), interpolation=cv2.INTER_AREA)
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buffer, format="PNG")
    return buffer.getvalue()


def ply_bytes(
    distance: np.ndarray, rgb: np.ndarray | None = None, max_points: int = 2_000_000
) -> bytes:
    """Binary little-endian PLY point cloud (x, y, z float32 [+ r, g, b uint8]), subsampled."""
    h, w = distance.shape
    step = max(1, int(np.ceil(np.sqrt(h * w / max_points))))
    pts = points(distance)[::step, ::step].reshape(-1, 3).astype(np.float32)
    keep = np.all(np.isfinite(pts), axis=1)
    pts = pts[keep]
    fields = [("x", "<f4"), ("y", "<f4"), ("z", "<f4")]
    header = ["ply", "format binary_little_endian 1.0", f"element vertex {len(pts)}"]
    header += ["property float x", "property float y", "property float z"]
    colours = None
    if rgb is not None:
        import cv2

        small = rgb[:, :, :3]
        if small.shape[:2] != (h, w):
            small = cv2.resize(small, (w, h), interpolation=cv2.INTER_AREA)
        colours = small[::step, ::step].reshape(-1, 3)[keep].astype(np.uint8)
        fields += [("red", "u1"), ("green", "u1"), ("blue", "u1")]
        header += ["property uchar red", "property uchar green", "property uchar blue"]
    header.append("end_header")
    record = np.zeros(len(pts), dtype=fields)
    record["x"], record["y"], record["z"] = pts[:, 0], pts[:, 1], pts[:, 2]
    if colours is not None:
        record["red"], record["green"], record["blue"] = colours.T
    return ("\n".join(header) + "\n").encode("ascii") + record.tobytes()
