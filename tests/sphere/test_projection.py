import math

import numpy as np
import pytest

from label360.sphere import (
    MapCache,
    View,
    cube_face_views,
    cubemap_to_equirect,
    equirect_to_cubemap,
    equirect_to_view,
    rotate_equirect,
    view_to_equirect,
)
from label360.sphere.vectors import lonlat_to_vec, vec_to_lonlat


def smooth(v):
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    return 120 + 60 * x + 40 * y * z + 25 * np.sin(2 * x + 3 * z) + 30 * y


def smooth_pano(w, h):
    lon = (np.arange(w) + 0.5) / w * 360 - 180
    lat = 90 - (np.arange(h) + 0.5) / h * 180
    lon2, lat2 = np.meshgrid(lon, lat)
    return smooth(lonlat_to_vec(lon2, lat2)).astype(np.float32)


def exact_bilinear(img, lon, lat):
    """float64 bilinear sampling of an equirect image at (lon, lat), seam wrapped, and across
    the poles via the row shifted by 180 degrees (independent reference implementation)."""
    img = np.asarray(img, dtype=np.float64)
    h, w = img.shape[:2]
    x = (np.asarray(lon) + 180) / 360 * w - 0.5
    y = (90 - np.asarray(lat)) / 180 * h - 0.5
    x0 = np.floor(x).astype(int)
    y0 = np.floor(y).astype(int)
    fx, fy = x - x0, y - y0

    def px(r, c):
        c = np.where(r < 0, c + w // 2, c)
        c = np.where(r >= h, c + w // 2, c)
        r = np.clip(r, 0, h - 1)
        return img[r, np.mod(c, w)]

    if img.ndim == 3:
        fx, fy = fx[..., None], fy[..., None]
    return (
        px(y0, x0) * (1 - fx) * (1 - fy)
        + px(y0, x0 + 1) * fx * (1 - fy)
        + px(y0 + 1, x0) * (1 - fx) * fy
        + px(y0 + 1, x0 + 1) * fx * fy
    )


def view_lonlat(view):
    xs, ys = np.meshgrid(np.arange(view.width), np.arange(view.height))
    return view.pixel_to_lonlat(xs, ys)


@pytest.mark.parametrize(
    "yaw, pitch, roll", [(0, 0, 0), (180, 10, 20), (-170, 80, 0), (30, -90, 45)]
)
def test_equirect_to_view_exact_bilinear_on_noise(yaw, pitch, roll):
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (256, 512, 3)).astype(np.uint8)
    view = View(yaw, pitch, roll, 90, 160, 120)
    out = equirect_to_view(img, yaw, pitch, roll, 90, 160, 120)
    assert out.shape == (120, 160, 3) and out.dtype == np.uint8
    ref = exact_bilinear(img, *view_lonlat(view))
    assert np.abs(out - ref).mean() <= 0.3
    outf = equirect_to_view(img.astype(np.float32), yaw, pitch, roll, 90, 160, 120)
    assert np.abs(outf - ref).mean() <= 1e-3


def test_seam_and_pole_have_no_artifacts():
    img = smooth_pano(1024, 512)
    for yaw, pitch in [(180, 0), (-180, 30), (0, 90), (90, -90)]:
        view = View(yaw, pitch, 0, 100, 200, 200)
        out = equirect_to_view(img, yaw, pitch, 0, 100, 200, 200)
        lon, lat = view_lonlat(view)
        truth = smooth(lonlat_to_vec(lon, lat))
        err = np.abs(out - truth)
        assert err.max() < 0.25, (yaw, pitch, err.max())


@pytest.mark.parametrize("fov", [90.0, 100.0])
def test_cubemap_round_trip(fov):
    img = smooth_pano(1024, 512)
    faces = equirect_to_cubemap(img, 256, fov=fov)
    assert len(faces) == 6 and all(f.shape == (256, 256) for f in faces)
    for f, view in zip(faces, cube_face_views(256, fov), strict=True):
        lon, lat = view_lonlat(view)
        assert np.abs(f - smooth(lonlat_to_vec(lon, lat))).max() < 0.2
    back = cubemap_to_equirect(faces, 1024, 512, fov=fov)
    err = np.abs(back - img)
    assert err.max() < 0.5
    # no face-edge bands: error near the face edges (|lon| = 45, 135) is like elsewhere
    cols = ((np.array([45.0, 135.0, -45.0, -135.0]) + 180) / 360 * 1024).astype(int)
    rows = slice(200, 312)
    edge_err = max(err[rows, c - 2 : c + 2].max() for c in cols)
    assert edge_err < 4 * err[rows].mean() + 0.05


def test_cubemap_channels_and_dtypes():
    rng = np.random.default_rng(2)
    for img in [
        rng.integers(0, 65535, (64, 128, 3)).astype(np.uint16),
        (rng.random((64, 128)) * 1000).astype(np.float32),  # depth / HDR
        rng.integers(0, 255, (64, 128, 4)).astype(np.uint8),
        rng.integers(0, 255, (64, 128, 1)).astype(np.uint8),
        rng.integers(0, 255, (64, 128, 6)).astype(np.uint8),
    ]:
        faces = equirect_to_cubemap(img, 32)
        assert faces[0].shape == (32, 32) + img.shape[2:] and faces[0].dtype == img.dtype
        back = cubemap_to_equirect(faces, 128, 64)
        assert back.shape == img.shape and back.dtype == img.dtype
        v = equirect_to_view(img, 10, 20, 30, 60, 40, 30, interpolation="nearest")
        assert v.shape == (30, 40) + img.shape[2:]
        assert np.isin(v, img).all()  # nearest never invents values


def test_view_to_equirect_paste_back():
    img = smooth_pano(512, 256)
    view = View(170, 20, 10, 80, 300, 200)
    v = equirect_to_view(img, 170, 20, 10, 80, 300, 200, antialias=False)
    back, valid = view_to_equirect(v, view, 512, 256)
    assert valid.dtype == bool and valid.sum() > 1000
    assert (back[~valid] == 0).all()
    # the valid mask is exactly the set of equirect centres that project inside the view
    lon = (np.arange(512) + 0.5) / 512 * 360 - 180
    lat = 90 - (np.arange(256) + 0.5) / 256 * 180
    lon2, lat2 = np.meshgrid(lon, lat)
    x, y = view.lonlat_to_pixel(lon2, lat2)
    inside = (x >= -0.5) & (x <= 299.5) & (y >= -0.5) & (y <= 199.5)
    assert (inside != valid).sum() <= 2
    interior = valid & (x >= 1) & (x <= 298) & (y >= 1) & (y <= 198)
    assert np.abs(back[interior] - img[interior]).max() < 0.5


def test_rotate_equirect():
    img = smooth_pano(512, 256)
    rolled = rotate_equirect(img, (90, 0, 0))
    # content moves east by 90 degrees = W/4 columns
    assert np.abs(rolled - np.roll(img, 128, axis=1)).max() < 1e-3
    from label360.sphere.vectors import rot_x, rot_y

    r = rot_y(30) @ rot_x(40)
    out = rotate_equirect(img, r)
    lon = (np.arange(512) + 0.5) / 512 * 360 - 180
    lat = 90 - (np.arange(256) + 0.5) / 256 * 180
    d = lonlat_to_vec(*np.meshgrid(lon, lat))
    truth = smooth(d @ r)  # value at R^T d
    assert np.abs(out - truth).max() < 0.3
    with pytest.raises(ValueError):
        rotate_equirect(img, np.ones((3, 3)))


def test_antialias_downscale_reduces_aliasing():
    rng = np.random.default_rng(3)
    img = rng.random((1024, 2048)).astype(np.float32)
    aa = equirect_to_view(img, 0, 0, 0, 90, 64, 64)
    raw = equirect_to_view(img, 0, 0, 0, 90, 64, 64, antialias=False)
    assert aa.std() < 0.5 * raw.std()
    assert abs(aa.mean() - 0.5) < 0.02


def test_map_cache_lru_by_bytes():
    cache = MapCache(max_bytes=1000)
    a = cache.get("a", lambda: np.zeros(100, dtype=np.float32))  # 400 bytes
    cache.get("b", lambda: np.zeros(100, dtype=np.float32))
    assert cache.get("a", lambda: None) is a and cache.hits == 1
    cache.get("c", lambda: np.zeros(100, dtype=np.float32))  # evicts b (least recent)
    assert cache.nbytes <= 1000 and len(cache) == 2
    assert cache.get("b", lambda: "rebuilt") == "rebuilt"


def test_bad_inputs():
    with pytest.raises(ValueError):
        equirect_to_view(np.zeros((4, 8, 3, 2)), 0, 0, 0, 90, 4, 4)
    with pytest.raises(ValueError):
        equirect_to_view(np.zeros((4, 8)), 0, 0, 0, 190, 4, 4)
    with pytest.raises(ValueError):
        equirect_to_view(np.zeros((4, 8)), 0, 0, 0, 90, 4, 4, interpolation="cubic")
    with pytest.raises(ValueError):
        cubemap_to_equirect([np.zeros((4, 4))] * 5, 8, 4)
    lon, lat = vec_to_lonlat(np.array([1.0, 0, 0]))
    assert math.isclose(lon, 90)
