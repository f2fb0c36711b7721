import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from label360.sphere import FACE_NAMES, View, cube_face_views, lonlat_to_vec, vec_to_lonlat
from label360.sphere.vectors import angle_between


def centre_lonlat(view):
    lon, lat = view.pixel_to_lonlat(view.width / 2 - 0.5, view.height / 2 - 0.5)
    return float(lon), float(lat)


def test_rotation_convention():
    assert centre_lonlat(View(90, 0, 0, 90, 100, 100)) == pytest.approx((90, 0), abs=1e-12)
    lon, lat = centre_lonlat(View(0, 90, 0, 90, 100, 100))
    assert lat == pytest.approx(90, abs=1e-9)
    assert centre_lonlat(View(-45, 30, 0, 90, 100, 100)) == pytest.approx((-45, 30), abs=1e-12)
    r = View(0, 0, 0, 90, 100, 100).rotation()
    assert np.allclose(r, np.eye(3))
    # roll turns the picture clockwise: a point right of centre moves below centre
    v = View(0, 0, 90, 90, 101, 101)
    x, y = v.lonlat_to_pixel(10.0, 0.0)
    assert x == pytest.approx(50.0, abs=1e-9) and y > 50 + 5
    # up in the view (pixel above centre) at pitch 0 is towards lat > 0
    lon, lat = View(0, 0, 0, 90, 101, 101).pixel_to_lonlat(50, 10)
    assert lat > 0 and abs(lon) < 1e-9
    lon, lat = View(0, 0, 0, 90, 101, 101).pixel_to_lonlat(90, 50)
    assert lon > 0


def test_vectors_convention():
    assert np.allclose(lonlat_to_vec(0, 0), [0, 0, 1])
    assert np.allclose(lonlat_to_vec(90, 0), [1, 0, 0])
    assert np.allclose(lonlat_to_vec(0, 90), [0, 1, 0], atol=1e-15)
    lon, lat = vec_to_lonlat([0.0, 0.0, -1.0])
    assert lon == -180.0 and lat == 0.0


def test_cube_faces():
    views = cube_face_views(64)
    assert FACE_NAMES == ("F", "R", "B", "L", "U", "D")
    expect = [(0, 0), (90, 0), (-180, 0), (-90, 0), (None, 90), (None, -90)]
    for v, (elon, elat) in zip(views, expect, strict=True):
        lon, lat = centre_lonlat(v)
        assert lat == pytest.approx(elat, abs=1e-9)
        if elon is not None:
            assert lon == pytest.approx(elon, abs=1e-9)
    with pytest.raises(ValueError):
        cube_face_views(64, 80)


angles = st.floats(-180, 180)


@settings(max_examples=60, deadline=None)
@given(
    yaw=angles,
    pitch=st.floats(-90, 90),
    roll=angles,
    hfov=st.floats(10, 170),
    x=st.floats(-0.5, 639.5),
    y=st.floats(-0.5, 479.5),
)
def test_view_round_trip(yaw, pitch, roll, hfov, x, y):
    view = View(yaw, pitch, roll, hfov, 640, 480)
    lon, lat = view.pixel_to_lonlat(x, y)
    x2, y2 = view.lonlat_to_pixel(lon, lat)
    v1 = view.pixel_to_vec(x, y)
    v2 = view.pixel_to_vec(x2, y2)
    assert float(angle_between(v1, v2)) < 1e-9
    r = view.rotation()
    assert np.allclose(r @ r.T, np.eye(3), atol=1e-12)
    assert math.isclose(np.linalg.det(r), 1.0, abs_tol=1e-12)


@settings(max_examples=60, deadline=None)
@given(lon=st.floats(-180, 179.9999), lat=st.floats(-89.9999, 89.9999))
def test_lonlat_round_trip(lon, lat):
    lo, la = vec_to_lonlat(lonlat_to_vec(lon, lat))
    assert abs(float(la) - lat) < 1e-9
    assert abs((float(lo) - lon + 180) % 360 - 180) < 1e-9


def test_behind_camera_is_nan():
    x, y = View(0, 0, 0, 90, 10, 10).lonlat_to_pixel(180.0, 0.0)
    assert math.isnan(x) and math.isnan(y)
