"""Image projections between equirectangular panoramas, views and cubemaps.

All resampling goes through ``cv2.remap`` with float32 maps (OpenCV >= 4.11 interpolates
float maps with float weights, so bilinear results match an exact float64 bilinear
reference to within rounding; measured in bench/geometry.py).

Seam and poles: before sampling, the equirect image is padded by one column on each side
(wrapped around the seam) and one row above/below whose pixels are the first/last row shifted
by 180 degrees in longitude (the neighbours across the pole).  Bilinear interpolation then
never sees a border, so there is no seam line at lon +-180 and no hole at the poles.

Anti-aliasing: when the output's angular pixel size is at least twice the source's, the
source is first reduced with ``cv2.INTER_AREA`` by 2**k, k = floor(log2(out_px / src_px)), and
then sampled (a pyramid level chosen per call).  Angular pixel sizes: equirect 2*pi/W radians,
view 1/f at its centre (f = focal length in pixels).

Sampling maps are cached in :data:`label360.sphere.mapcache.MAP_CACHE` keyed by the exact
parameters (LRU bounded by bytes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
from numpy.typing import NDArray

from .mapcache import MAP_CACHE
from .vectors import rot_y
from .views import View, cube_face_views

__all__ = [
    "equirect_to_view",
    "equirect_to_cubemap",
    "cubemap_to_equirect",
    "view_to_equirect",
    "rotate_equirect",
    "equirect_directions",
    "equirect_pixel_coords",
    "sample_equirect",
]

_INTERP = {"bilinear": cv2.INTER_LINEAR, "nearest": cv2.INTER_NEAREST}
_TWO_PI = 2.0 * math.pi


# -- small helpers ---------------------------------------------------------------------------
def _interp_flag(interpolation: str) -> int:
    try:
        return _INTERP[interpolation]
    except KeyError:
        raise ValueError(
            f"interpolation must be 'bilinear' or 'nearest', got {interpolation!r}"
        ) from None


def _check_image(image: NDArray, what: str = "image") -> NDArray:
    image = np.asarray(image)
    if image.ndim not in (2, 3) or image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"{what} must be a 2-D or 3-D (H, W, C) array, got shape {image.shape}")
    return image


def _to_cv(image: NDArray) -> tuple[NDArray, np.dtype]:
    """A cv2-compatible array (contiguous, supported depth) and the dtype to return."""
    dtype = image.dtype
    if dtype == np.bool_:
        work = image.astype(np.uint8)
    elif dtype in (np.uint8, np.uint16, np.int16, np.float32, np.float64):
        work = image
    elif np.issubdtype(dtype, np.floating):
        work = image.astype(np.float32)
    else:
        work = image.astype(np.float64)  # int32/int64/... exact in float64 for typical ranges
    return np.ascontiguousarray(work), dtype


def _from_cv(out: NDArray, dtype: np.dtype) -> NDArray:
    if out.dtype == dtype:
        return out
    if dtype == np.bool_:
        return out > 0
    if np.issubdtype(dtype, np.integer):
        return np.rint(out).astype(dtype)
    return out.astype(dtype)


def _remap(src: NDArray, mapx: NDArray, mapy: NDArray | None, flag: int, border: int) -> NDArray:
    """cv2.remap for any channel count (cv2 handles at most 4 channels per call)."""
    if src.ndim == 3 and src.shape[2] > 4:
        parts = [
            _remap(np.ascontiguousarray(src[:, :, c : c + 4]), mapx, mapy, flag, border)
            for c in range(0, src.shape[2], 4)
        ]
        parts = [p if p.ndim == 3 else p[:, :, None] for p in parts]
        return np.concatenate(parts, axis=2)
    out = cv2.remap(src, mapx, mapy, flag, borderMode=border)
    if src.ndim == 3 and out.ndim == 2:  # cv2 drops a trailing channel axis of size 1
        out = out[:, :, None]
    return out


def _expandable(img: NDArray) -> bool:
    return img.ndim == 3 and img.shape[2] == 3 and img.dtype in (np.uint8, np.uint16, np.float32)


def _expand(img: NDArray) -> NDArray:
    """3 channels -> 4 (cv2.remap is ~2x faster on 4 channels than on 3); else unchanged."""
    if _expandable(img):
        return cv2.cvtColor(img, cv2.COLOR_RGB2RGBA)
    return img


def _unexpand(out: NDArray, like: NDArray) -> NDArray:
    if _expandable(like) and out.ndim == 3 and out.shape[2] == 4:
        return cv2.cvtColor(out, cv2.COLOR_RGBA2RGB)  # contiguous result, SIMD speed
    return out


def _crop_equirect(img: NDArray, c0: int, c1: int, r0: int, r1: int) -> NDArray:
    """Columns c0..c1 and rows r0..r1 (inclusive) of the equirect image extended to the sphere.

    Column c is source column c mod W (wraps across the seam any number of times).  Row -1 is
    row 0 seen across the north pole, i.e. shifted by 180 degrees of longitude (W/2 columns);
    row H likewise is row H-1 across the south pole.  r0 >= -1 and r1 <= H.
    """
    h, w = img.shape[:2]
    expand = _expandable(img)  # 3 -> 4 channels in the same pass (see _expand)
    channels = (4,) if expand else img.shape[2:]
    out = np.empty((r1 - r0 + 1, c1 - c0 + 1) + channels, dtype=img.dtype)

    def put(dst_rows: slice, src: NDArray, cols_start: int) -> None:
        # copy columns cols_start.. (mod W) of src rows into out rows, in contiguous chunks
        n = c1 - c0 + 1
        done = 0
        while done < n:
            sc = (cols_start + done) % w
            k = min(n - done, w - sc)
            if expand:  # cv2 writes into the view (each row contiguous)
                cv2.cvtColor(
                    src[:, sc : sc + k], cv2.COLOR_RGB2RGBA, dst=out[dst_rows, done : done + k]
                )
            else:
                out[dst_rows, done : done + k] = src[:, sc : sc + k]
            done += k

    a, b = max(r0, 0), min(r1, h - 1)
    if b >= a:
        put(slice(a - r0, b - r0 + 1), img[a : b + 1], c0)
    if r0 == -1:
        put(slice(0, 1), img[:1], c0 + w // 2)
    if r1 == h:
        put(slice(r1 - r0, r1 - r0 + 1), img[h - 1 :], c0 + w // 2)
    return out


def _reduce(img: NDArray, levels: int) -> NDArray:
    """Anti-aliased reduction by 2**levels (area averaging)."""
    if levels <= 0:
        return img
    h, w = img.shape[:2]
    f = 2**levels
    nh, nw = max(1, h // f), max(1, w // f)
    out = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)
    if img.ndim == 3 and out.ndim == 2:
        out = out[:, :, None]
    return out


def _levels(out_px: float, src_px: float) -> int:
    """Pyramid level for an output angular pixel size `out_px` vs the source's `src_px`."""
    ratio = out_px / src_px
    return max(0, int(math.floor(math.log2(ratio) + 1e-9))) if ratio >= 2.0 else 0


def _camera_axes(hfov: float, width: int, height: int) -> tuple[NDArray, NDArray]:
    """Camera-ray x (per column) and y (per row) components, float32; the ray is (x, y, 1)."""
    f = (width / 2.0) / math.tan(math.radians(hfov) / 2.0)
    xs = ((np.arange(width, dtype=np.float64) + 0.5 - width / 2.0) / f).astype(np.float32)
    ys = (-(np.arange(height, dtype=np.float64) + 0.5 - height / 2.0) / f).astype(np.float32)
    return xs, ys


def _view_world_dirs(view: View, rot: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """World directions (not normalised: atan2 does not need it) of all view pixel centres,
    as three (h*w,) float32 arrays, built by broadcasting rot @ (x, y, 1)."""
    xs, ys = _camera_axes(view.hfov, view.width, view.height)
    m = rot.astype(np.float32)
    out = []
    for k in range(3):
        comp = xs[None, :] * m[k, 0] + (ys[:, None] * m[k, 1] + m[k, 2])
        out.append(comp.reshape(-1))
    return out[0], out[1], out[2]


def _apply_matrix(v: NDArray[np.float32], m: NDArray) -> NDArray[np.float32]:
    """v @ m for (n, 3) float32 vectors; cv2.transform is SIMD + threaded, unlike numpy's
    matmul with an inner dimension of 3."""
    out = cv2.transform(v.reshape(-1, 1, 3), np.ascontiguousarray(m.T, dtype=np.float32))
    return out.reshape(-1, 3)


def _vec_to_equirect_map(
    v: NDArray[np.float32] | tuple[NDArray, NDArray, NDArray],
    src_w: int,
    src_h: int,
    lon_offset: float,
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Extended equirect pixel-index coordinates (x, y) of world vectors v (n, 3).

    `v` must already be rotated by Ry(-lon_offset); adding lon_offset back afterwards keeps x
    continuous around the region of interest (x may leave [0, W): columns wrap, see
    :func:`_crop_equirect`).  Pixel-index coordinates: u - 0.5, v - 0.5.
    """
    x, y, z = v if isinstance(v, tuple) else (v[:, 0], v[:, 1], v[:, 2])
    lon = np.arctan2(x, z)
    lat = np.arctan2(y, np.sqrt(x * x + z * z))
    sx = np.float32(src_w / _TWO_PI)
    mx = lon * sx + np.float32(math.radians(lon_offset) * src_w / _TWO_PI + src_w / 2.0 - 0.5)
    my = lat * np.float32(-src_h / math.pi) + np.float32(src_h / 2.0 - 0.5)
    return mx, my


def _crop_maps(
    mx: NDArray[np.float32], my: NDArray[np.float32], src_h: int, shape: tuple[int, int]
) -> tuple[NDArray[np.float32], tuple[int, int, int, int]]:
    """Shift extended coordinates to a tight crop; returns (interleaved map, (c0, c1, r0, r1))."""
    c0 = int(math.floor(float(mx.min()))) - 1
    c1 = int(math.floor(float(mx.max()))) + 2
    r0 = max(-1, int(math.floor(float(my.min()))) - 1)
    r1 = min(src_h, int(math.floor(float(my.max()))) + 2)
    m = np.empty(shape + (2,), dtype=np.float32)
    m[..., 0] = (mx - np.float32(c0)).reshape(shape)
    m[..., 1] = (my - np.float32(r0)).reshape(shape)
    return m, (c0, c1, r0, r1)


def _view_maps(view: View, src_w: int, src_h: int) -> tuple[NDArray, tuple[int, int, int, int]]:
    """Interleaved map into a crop of the extended equirect image, and the crop (c0, c1, r0, r1).

    Changing yaw by a whole number of source columns only shifts the crop, so maps are cached
    for the fractional part of yaw*W/360 and re-used (e.g. cube faces F, R, B, L share one map).
    """
    shift = view.yaw / 360.0 * src_w
    whole = math.floor(shift)
    frac_yaw = (shift - whole) * 360.0 / src_w
    key = ("e2v", frac_yaw, view.pitch, view.roll, view.hfov, view.width, view.height, src_w, src_h)

    def build() -> tuple[NDArray, tuple[int, int, int, int]]:
        if view.pitch < 0:
            # Mirror symmetry: view (yaw, -p, -r) is view (yaw, p, r) flipped upside down with
            # lat -> -lat, so the map is derived (no trig) - e.g. cube face D from face U.
            up = View(frac_yaw, -view.pitch, -view.roll, view.hfov, view.width, view.height)
            mu, (c0, c1, r0, r1) = _view_maps(up, src_w, src_h)
            md = np.empty_like(mu)
            md[..., 0] = mu[::-1, :, 0]
            md[..., 1] = np.float32(r1 - r0) - mu[::-1, :, 1]
            return md, (c0, c1, src_h - 1 - r1, src_h - 1 - r0)
        rot = View(frac_yaw, view.pitch, view.roll, view.hfov, view.width, view.height).rotation()
        centre = rot[:, 2]
        lonc = math.degrees(math.atan2(centre[0], centre[2]))
        dirs = _view_world_dirs(view, rot_y(-lonc) @ rot)
        mx, my = _vec_to_equirect_map(dirs, src_w, src_h, lonc)
        return _crop_maps(mx, my, src_h, (view.height, view.width))

    m, (c0, c1, r0, r1) = MAP_CACHE.get(key, build)
    return m, (c0 + whole, c1 + whole, r0, r1)


def _sample_view(work: NDArray, view: View, flag: int) -> NDArray:
    m, (c0, c1, r0, r1) = _view_maps(view, work.shape[1], work.shape[0])
    src = _crop_equirect(work, c0, c1, r0, r1)
    return _unexpand(_remap(src, m, None, flag, cv2.BORDER_REPLICATE), work)


# -- public API ------------------------------------------------------------------------------
def equirect_to_view(
    image: NDArray,
    yaw: float,
    pitch: float,
    roll: float,
    hfov: float,
    width: int,
    height: int,
    interpolation: str = "bilinear",
    antialias: bool = True,
) -> NDArray:
    """Render a rectilinear view (height, width[, C]) of an equirect image, same dtype."""
    view = View(float(yaw), float(pitch), float(roll), float(hfov), int(width), int(height))
    image = _check_image(image)
    flag = _interp_flag(interpolation)
    work, dtype = _to_cv(image)
    if antialias:
        work = _reduce(work, _levels(1.0 / view.focal, _TWO_PI / work.shape[1]))
    return _from_cv(_sample_view(work, view, flag), dtype)


def equirect_to_cubemap(
    image: NDArray,
    face_size: int,
    fov: float = 90.0,
    interpolation: str = "bilinear",
    antialias: bool = True,
) -> list[NDArray]:
    """Six cube faces F R B L U D (each face_size x face_size) with horizontal FOV `fov` >= 90."""
    image = _check_image(image)
    flag = _interp_flag(interpolation)
    work, dtype = _to_cv(image)
    views = cube_face_views(int(face_size), float(fov))
    if antialias:
        work = _reduce(work, _levels(1.0 / views[0].focal, _TWO_PI / work.shape[1]))
    return [_from_cv(_sample_view(work, view, flag), dtype) for view in views]


def equirect_directions(width: int, height: int) -> NDArray[np.float32]:
    """Unit vectors (height*width, 3) float32 of equirect pixel centres (cached)."""

    def build() -> NDArray[np.float32]:
        lon = (np.arange(width) + 0.5) / width * _TWO_PI - math.pi
        lat = math.pi / 2 - (np.arange(height) + 0.5) / height * math.pi
        cl = np.cos(lat)[:, None]
        v = np.empty((height, width, 3), dtype=np.float32)
        v[:, :, 0] = cl * np.sin(lon)[None, :]
        v[:, :, 1] = np.sin(lat)[:, None]
        v[:, :, 2] = cl * np.cos(lon)[None, :]
        return v.reshape(-1, 3)

    return MAP_CACHE.get(("edirs", int(width), int(height)), build)


def _cube_face_lookup(
    v: NDArray[np.float32], face_size: int, fov: float
) -> tuple[NDArray[np.intp], NDArray[np.float32], NDArray[np.float32]]:
    """For world vectors v: the face whose 90-degree square contains v and pixel coords in it."""
    views = cube_face_views(face_size, fov)
    ax = np.abs(v)
    # Face of the dominant axis: +z F, +x R, -z B, -x L, +y U, -y D.
    dom = np.argmax(ax, axis=1)
    x, y, z = v[:, 0], v[:, 1], v[:, 2]
    face = np.where(
        dom == 2,
        np.where(z >= 0, 0, 2),
        np.where(dom == 0, np.where(x >= 0, 1, 3), np.where(y >= 0, 4, 5)),
    ).astype(np.intp)
    px = np.empty(len(v), dtype=np.float32)
    py = np.empty(len(v), dtype=np.float32)
    for k, view in enumerate(views):
        sel = np.nonzero(face == k)[0]
        if sel.size == 0:
            continue
        cam = v[sel] @ view.rotation().astype(np.float32)  # world -> camera: R^T v
        f = np.float32(view.focal)
        px[sel] = cam[:, 0] / cam[:, 2] * f + np.float32(face_size / 2.0 - 0.5)
        py[sel] = -cam[:, 1] / cam[:, 2] * f + np.float32(face_size / 2.0 - 0.5)
    return face, px, py


def _atlas_ring_maps(s: int, fov: float) -> tuple[NDArray, NDArray, NDArray]:
    """For the one-pixel padding ring of every face block of a 90-degree cube atlas: the
    atlas rows and columns of the ring pixels and the (1, n, 2) map that samples each from the
    neighbouring face, inside that face's (replicate-padded) block.  Cached per (s, fov)."""

    def build() -> tuple[NDArray, NDArray, NDArray]:
        ring_x = np.concatenate(
            [np.arange(-1, s + 1), np.arange(-1, s + 1), np.full(s, -1), np.full(s, s)]
        )
        ring_y = np.concatenate([np.full(s + 2, -1), np.full(s + 2, s), np.arange(s), np.arange(s)])
        rows, cols, maps = [], [], []
        for k, view in enumerate(cube_face_views(s, fov)):
            v = view.pixel_to_vec(ring_x, ring_y).astype(np.float32)
            face, px, py = _cube_face_lookup(v, s, fov)
            px = np.clip(px, 0, s - 1) + 1
            py = np.clip(py, 0, s - 1) + 1 + face * (s + 2)
            maps.append(np.stack([px, py], axis=-1).astype(np.float32))
            rows.append(ring_y + 1 + k * (s + 2))
            cols.append(ring_x + 1)
        return np.concatenate(rows), np.concatenate(cols), np.concatenate(maps)[None]

    return MAP_CACHE.get(("atlas-ring", s, fov), build)


def _cube_atlas(faces: Sequence[NDArray], fov: float, flag: int) -> NDArray:
    """Faces padded by one pixel each side, stacked vertically: (6*(S+2), S+2[, C]); 3-channel
    faces become 4-channel (see :func:`_expand`) in the same copy.

    With fov == 90 the padding pixels are sampled from the neighbouring faces (so bilinear
    interpolation across a face edge is seamless); with an expanded FOV the face already
    extends past its 90-degree square, and the padding just replicates the edge.
    """
    s = faces[0].shape[0]
    f0 = faces[0]
    expand = _expandable(f0)
    channels = (4,) if expand else f0.shape[2:]
    atlas = np.empty((6 * (s + 2), s + 2) + channels, dtype=f0.dtype)
    for k, face in enumerate(faces):
        o = k * (s + 2)
        block = atlas[o : o + s + 2]
        if expand:  # cv2 writes into the view
            cv2.cvtColor(face, cv2.COLOR_RGB2RGBA, dst=block[1:-1, 1:-1])
        else:
            block[1:-1, 1:-1] = face
        # replicate edges (overwritten below for fov == 90)
        block[0, 1:-1] = block[1, 1:-1]
        block[-1, 1:-1] = block[-2, 1:-1]
        block[:, 0] = block[:, 1]
        block[:, -1] = block[:, -2]
    if fov == 90.0:
        rows, cols, m = _atlas_ring_maps(s, fov)
        vals = _remap(atlas, m, None, flag, cv2.BORDER_REPLICATE)[0]  # all read, then written
        atlas[rows, cols] = vals
    return atlas


def cubemap_to_equirect(
    faces: Sequence[NDArray],
    width: int,
    height: int,
    fov: float = 90.0,
    interpolation: str = "bilinear",
    antialias: bool = True,
) -> NDArray:
    """Equirect image (height, width[, C]) from six faces F R B L U D with horizontal FOV `fov`.

    Each output pixel samples the face whose 90-degree square contains its direction, so the
    result has no face-edge bands even for expanded-FOV faces.
    """
    if len(faces) != 6:
        raise ValueError(f"need 6 faces (F R B L U D), got {len(faces)}")
    faces = [_check_image(f, "face") for f in faces]
    s = faces[0].shape[0]
    for f in faces:
        if f.shape != faces[0].shape or f.shape[0] != f.shape[1]:
            raise ValueError("faces must be square and all the same shape")
    flag = _interp_flag(interpolation)
    work = [_to_cv(f) for f in faces]
    dtype = work[0][1]
    cv_faces = [w for w, _ in work]
    if antialias:
        focal = cube_face_views(s, fov)[0].focal
        k = _levels(_TWO_PI / width, 1.0 / focal)
        cv_faces = [_reduce(f, k) for f in cv_faces]
    s = cv_faces[0].shape[0]
    atlas = _cube_atlas(cv_faces, float(fov), flag)
    key = ("c2e", s, float(fov), int(width), int(height))

    def build() -> NDArray:
        face, px, py = _cube_face_lookup(equirect_directions(width, height), s, float(fov))
        m = np.empty((height, width, 2), dtype=np.float32)
        m[..., 0] = (px + 1).reshape(height, width)
        m[..., 1] = (py + np.float32(1) + (face * (s + 2)).astype(np.float32)).reshape(
            height, width
        )
        return m

    m = MAP_CACHE.get(key, build)
    out = _remap(atlas, m, None, flag, cv2.BORDER_REPLICATE)
    return _from_cv(_unexpand(out, cv_faces[0]), dtype)


def view_to_equirect_maps(
    view: View, width: int, height: int
) -> tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.bool_]]:
    """The remap maps of :func:`view_to_equirect` (cached, read-only): view pixel x, y of
    each equirect pixel centre (−10 where invalid) and the valid mask."""
    key = (
        "v2e",
        view.yaw,
        view.pitch,
        view.roll,
        view.hfov,
        view.width,
        view.height,
        width,
        height,
    )

    def build() -> tuple[NDArray, NDArray, NDArray]:
        v = equirect_directions(width, height)
        cam = _apply_matrix(v, view.rotation())
        z = cam[:, 2]
        front = z > 1e-6
        zs = np.where(front, z, np.float32(1.0))
        f = np.float32(view.focal)
        px = cam[:, 0] / zs * f + np.float32(view.width / 2.0 - 0.5)
        py = -cam[:, 1] / zs * f + np.float32(view.height / 2.0 - 0.5)
        valid = front & (px >= -0.5) & (px <= view.width - 0.5)
        valid &= (py >= -0.5) & (py <= view.height - 0.5)
        px = np.where(valid, px, np.float32(-10)).astype(np.float32)
        py = np.where(valid, py, np.float32(-10)).astype(np.float32)
        return px.reshape(height, width), py.reshape(height, width), valid.reshape(height, width)

    return MAP_CACHE.get(key, build)


def view_to_equirect(
    view_image: NDArray,
    view: View,
    width: int,
    height: int,
    interpolation: str = "bilinear",
) -> tuple[NDArray, NDArray[np.bool_]]:
    """Paste a view image back onto an equirect grid.

    Returns ``(image, valid)``: image (height, width[, C]) in the view's dtype, zero where
    invalid, and the bool mask of equirect pixels whose centre direction falls inside the view
    rectangle (in front of the camera, x in [-0.5, W-0.5], y in [-0.5, H-0.5]).
    """
    view_image = _check_image(view_image, "view_image")
    if view_image.shape[:2] != (view.height, view.width):
        raise ValueError(
            f"view_image shape {view_image.shape[:2]} != view size {(view.height, view.width)}"
        )
    flag = _interp_flag(interpolation)
    work, dtype = _to_cv(view_image)
    mx, my, valid = view_to_equirect_maps(view, width, height)
    out = _remap(work, mx, my, flag, cv2.BORDER_REPLICATE)
    out[~valid] = 0
    return _from_cv(out, dtype), valid.copy()


def _as_rotation(rotation: NDArray | Sequence[float]) -> NDArray[np.float64]:
    r = np.asarray(rotation, dtype=np.float64)
    if r.shape == (3,):
        yaw, pitch, roll = r
        return View(float(yaw), float(pitch), float(roll), 90.0, 1, 1).rotation()
    if r.shape != (3, 3) or not np.allclose(r @ r.T, np.eye(3), atol=1e-6):
        raise ValueError("rotation must be a 3x3 rotation matrix or (yaw, pitch, roll) degrees")
    return r


def rotate_equirect(
    image: NDArray,
    rotation: NDArray | Sequence[float],
    interpolation: str = "bilinear",
) -> NDArray:
    """Rotate the panorama content by `rotation` (3x3 matrix, or (yaw, pitch, roll) degrees,
    meaning the matrix Ry(yaw) Rx(-pitch) Rz(-roll) of a view).

    The output shows at direction ``R @ d`` what the input shows at ``d``.  To re-centre a
    panorama on a view's direction pass ``view.rotation().T``.
    """
    image = _check_image(image)
    flag = _interp_flag(interpolation)
    work, dtype = _to_cv(image)
    r = _as_rotation(rotation)
    h, w = work.shape[:2]
    key = ("rot", r.tobytes(), w, h)

    def build() -> tuple[NDArray, tuple[int, int, int, int]]:
        src = _apply_matrix(equirect_directions(w, h), r)  # R^T d for each output d
        mx, my = _vec_to_equirect_map(src, w, h, 0.0)
        return _crop_maps(mx, my, h, (h, w))

    m, (c0, c1, r0, r1) = MAP_CACHE.get(key, build)
    src = _crop_equirect(work, c0, c1, r0, r1)
    return _from_cv(_unexpand(_remap(src, m, None, flag, cv2.BORDER_REPLICATE), work), dtype)


def equirect_pixel_coords(
    directions: NDArray, width: int, height: int
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Equirect pixel-index coordinates (x, y) of world directions (..., 3) on a width x height
    grid (x in [-0.5, W - 0.5), the seam at the image edges)."""
    d = np.asarray(directions, dtype=np.float32)
    flat = d.reshape(-1, 3)
    mx, my = _vec_to_equirect_map((flat[:, 0], flat[:, 1], flat[:, 2]), width, height, 0.0)
    return mx.reshape(d.shape[:-1]), my.reshape(d.shape[:-1])


def sample_equirect(
    image: NDArray, directions: NDArray, interpolation: str = "bilinear"
) -> NDArray:
    """Values of an equirect image at world directions (h, w, 3): an (h, w[, C]) image.

    Samples with the seam and pole padding of the other projections (no border effects); the
    source crop read is the bounding box of the directions, centred on their mean longitude.
    """
    image = _check_image(image)
    flag = _interp_flag(interpolation)
    work, dtype = _to_cv(image)
    d = np.asarray(directions, dtype=np.float32)
    if d.ndim != 3 or d.shape[2] != 3:
        raise ValueError(f"directions must be an (h, w, 3) array, got shape {d.shape}")
    src_h, src_w = work.shape[:2]
    mean = d.reshape(-1, 3).astype(np.float64).sum(0)
    lonc = math.degrees(math.atan2(mean[0], mean[2])) if np.hypot(mean[0], mean[2]) > 0 else 0.0
    flat = _apply_matrix(d.reshape(-1, 3), rot_y(-lonc).T)
    mx, my = _vec_to_equirect_map(flat, src_w, src_h, lonc)
    m, (c0, c1, r0, r1) = _crop_maps(mx, my, src_h, d.shape[:2])
    src = _crop_equirect(work, c0, c1, r0, r1)
    return _from_cv(_unexpand(_remap(src, m, None, flag, cv2.BORDER_REPLICATE), work), dtype)
