"""What the depth module writes: depth (NPY/EXR), a colour preview, normals, a point cloud.

Frames: the panorama's camera frame of CONVENTIONS.md (x east, y up, z forward); the pixel
at row r, column c looks along ``equirect_directions(W, H)[r * W + c]``. Depth is DISTANCE
ALONG THE RAY (not z-depth), in the fused result's arbitrary global unit (monocular depth is
known up to one scale for the whole panorama; the geometric prior is in metres).
"""

from __future__ import annotations

import io

import cv2
import numpy as np

from label360.sphere.projection import equirect_directions


def points(distance: np.ndarray) -> np.ndarray:
    """3-D points (H, W, 3) float32 of an equirect distance map."""
    h, w = distance.shape
    return equirect_directions(w, h).reshape(h, w, 3) * distance[..., None]


#: half-size (pixels) of the plane-fit windows of normals_from_distance
NORMAL_WINDOW = 3


def _window_moments(k: int, height: int) -> np.ndarray:
    """Per window-centre row: inverse of Σ u'u'ᵀ over the (2k+1)² window (H, 3, 3), where
    u' are the window's ray directions in the frame of its centre ray (see below)."""
    step = np.pi / height
    lat_c = np.pi / 2 - (np.arange(height) + 0.5) * step
    i = np.arange(-k, k + 1)[:, None] * -step  # latitude offsets (rows go south)
    j = np.arange(-k, k + 1)[None, :] * step  # longitude offsets
    s, c = np.sin(lat_c)[:, None, None], np.cos(lat_c)[:, None, None]
    lat = lat_c[:, None, None] + i[None]
    ux = np.cos(lat) * np.sin(j)[None]
    uy = np.sin(lat) * c - np.cos(lat) * np.cos(j)[None] * s
    uz = np.sin(lat) * s + np.cos(lat) * np.cos(j)[None] * c
    u = np.stack([ux, uy, uz], axis=-1).reshape(height, -1, 3)
    return np.linalg.inv(np.einsum("hna,hnb->hab", u, u))


def normals_from_distance(distance: np.ndarray, window: int = NORMAL_WINDOW) -> np.ndarray:
    """Unit surface normals (H, W, 3) float32, facing the camera, from depth on the sphere.

    On a plane ``n·P = 1`` with ``P = d·u`` (``u`` the pixel's unit ray), the inverse
    distance is LINEAR in the ray: ``1/d = n·u``. So each pixel's normal is the least-squares
    fit of ``1/d = n·u`` over a (2k+1)² window (k = ``window``) — exact for planes at any
    latitude (no finite-difference metric, no pixel-centre approximation), and averaging the
    per-pixel noise of fused depth. Besides the centred window, the 4 windows that have the
    pixel in a corner are fitted too and the one with the smallest residual wins, so near an
    occlusion edge or a crease the fit uses the side the pixel belongs to (the "choose the
    smoother side" rule; only features thinner than 4 px leave no clean window).
    Columns wrap at the seam; windows reaching past the poles are not used.

    The fit is done in the frame of each window's centre ray, where it is well conditioned,
    with separable filters (cv2.sepFilter2D) of the inverse distance.
    """
    h, w = distance.shape
    k = int(max(1, min(window, (h - 1) // 2)))
    step = np.pi / h  # = 2π / W on an equirect grid
    q = 1.0 / np.maximum(np.asarray(distance, np.float32), np.float32(1e-12))
    q = np.where(np.isfinite(q), q, np.float32(0))
    padded = np.concatenate([q[:, -k:], q, q[:, :k]], axis=1)
    off = np.arange(-k, k + 1)
    ones = np.ones(2 * k + 1)
    rows = {"sin": np.sin(-off * step), "cos": np.cos(-off * step), "1": ones}
    cols = {"sin": np.sin(off * step), "1-cos": 1 - np.cos(off * step), "1": ones}
    rows = {key: val.astype(np.float32) for key, val in rows.items()}
    cols = {key: val.astype(np.float32) for key, val in cols.items()}

    def filt(src, ky, kx):
        out = cv2.sepFilter2D(src, cv2.CV_32F, cols[kx], rows[ky], borderType=cv2.BORDER_REPLICATE)
        return out[:, k:-k]

    A = filt(padded, "sin", "1")
    B = filt(padded, "sin", "1-cos")
    C = filt(padded, "cos", "1-cos")
    D = filt(padded, "cos", "1")
    E = filt(padded, "cos", "sin")
    G = filt(padded, "sin", "sin")
    S = filt(padded * padded, "1", "1")
    lat_c = np.pi / 2 - (np.arange(h) + 0.5) * step
    s, c = np.sin(lat_c)[:, None].astype(np.float32), np.cos(lat_c)[:, None].astype(np.float32)
    # Σ u'·q over each window centred at (r, c), u' in the centre ray's frame
    mx = c * E - s * G
    my = A - s * s * B + s * c * C
    mz = D - c * c * C + s * c * B
    # least-squares fit of every window, in its centre ray's frame: n' = M⁻¹ m, residual
    minv = _window_moments(k, h).astype(np.float32)
    m = (mx, my, mz)
    n = [sum(minv[:, a, b][:, None] * m[b] for b in range(3)) for a in range(3)]
    res = S - (n[0] * m[0] + n[1] * m[1] + n[2] * m[2])
    res[:k] = np.inf  # windows reaching past the poles
    res[h - k :] = np.inf
    # ... back to the camera frame (east, north, ray of the window centre), facing the camera
    lon = (np.arange(w) + 0.5) * step - np.pi
    sl, cl = s, c
    so, co = np.sin(lon)[None, :].astype(np.float32), np.cos(lon)[None, :].astype(np.float32)
    out = np.empty((h, w, 3), np.float32)
    out[..., 0] = -(n[0] * co - n[1] * sl * so + n[2] * cl * so)
    out[..., 1] = -(n[1] * cl + n[2] * sl)
    out[..., 2] = -(-n[0] * so - n[1] * sl * co + n[2] * cl * co)
    # each pixel takes the window (centred, or with the pixel in a corner) that fits best
    rows = np.arange(h)[:, None]
    best = np.where(np.isfinite(res), res, np.float32(np.finfo(np.float32).max))
    best_dy = np.zeros((h, w), np.int64)
    best_dx = np.zeros((h, w), np.int64)
    for dy, dx in ((-k, -k), (-k, k), (k, -k), (k, k)):
        r0, r1 = max(0, -dy), min(h, h - dy)  # pixel rows whose window centre is inside
        shifted = np.roll(res[r0 + dy : r1 + dy], -dx, axis=1)
        take = shifted < best[r0:r1]
        best[r0:r1] = np.where(take, shifted, best[r0:r1])
        best_dy[r0:r1][take] = dy
        best_dx[r0:r1][take] = dx
    flat = ((rows + best_dy) * w + (np.arange(w) + best_dx) % w).ravel()
    out = out.reshape(-1, 3)[flat].reshape(h, w, 3)
    norm = np.linalg.norm(out, axis=-1, keepdims=True)
    return out / np.maximum(norm, np.float32(1e-30))


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
