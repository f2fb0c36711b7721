"""Detection on the sphere with the real detectors: real photos pasted into a real panorama
at known places (inverse gnomonic projection), found again at every latitude and across the
seam, once each."""

from __future__ import annotations

import numpy as np
import pytest

from inference.detectors.adapters import FaceAdapter, RawDetection, TextAdapter
from inference.detectors.layout import Scale
from inference.detectors.placement import box_geometry, paste, patch_view
from inference.detectors.scan import ScanStats, detect_on_sphere, spherical_nms, to_sphere
from label360.sphere import View, iou

from .conftest import FACE_BOX, load_panorama

#: the tests look for larger objects than the product (one pyramid level: fast on 1024 px)
FACES = Scale(min_deg=12.0, max_deg=30.0, min_px=20.0, span=2.5, max_tilt=20.0)
TEXT = Scale(min_deg=20.0, max_deg=50.0, min_px=32.0, span=2.5, max_tilt=45.0, focus_px=160.0)

PLACES = [
    (0.0, 0.0),
    (100.0, 30.0),
    (-100.0, -30.0),
    (40.0, 60.0),
    (-40.0, -60.0),
    (150.0, 75.0),
    (-150.0, -75.0),
    (179.0, 10.0),
]


@pytest.fixture(scope="module")
def faces(face_adapter):
    return FaceAdapter(scale=FACES, detector=face_adapter.detector)


@pytest.fixture(scope="module")
def texts(text_adapter):
    return TextAdapter(scale=TEXT, detector=text_adapter.detector)


def _place_faces(pano, portrait, size_deg):
    """The portrait pasted so that the face box is ``size_deg`` high at each place."""
    truth = []
    face_h = FACE_BOX[3] - FACE_BOX[1]
    for lon, lat in PLACES:
        view = patch_view(portrait.shape, lon, lat, size_deg * portrait.shape[1] / face_h)
        paste(pano, portrait, view)
        truth.append(box_geometry(view, FACE_BOX))
    return truth


def test_faces_found_at_every_latitude_and_across_the_seam(portrait, faces):
    pano = load_panorama("pedestrian_overpass", 1024)
    truth = _place_faces(pano, portrait, 20.0)
    progress = []
    stats = ScanStats()
    found = detect_on_sphere(
        pano, faces, stats=stats, progress=lambda f, m: progress.append((f, m))
    )
    assert len(found) == len(truth)  # nothing missed, no duplicates, no false alarms
    for (lon, lat), geometry in zip(PLACES, truth, strict=True):
        best = max(iou(geometry, d.geometry) for d in found)
        assert best >= 0.5, (lon, lat, best)
    for d in found:
        assert d.kind == "face" and d.refined and d.score > 0.9
        assert len(d.landmarks) == 5
    # progress is reported per view, monotonically, up to 1
    fractions = [f for f, _m in progress]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert len(progress) == stats.views + stats.fine_views
    assert any("view 1/" in m for _f, m in progress)


def test_landmarks_follow_the_face(portrait, faces):
    """Eyes above the mouth on the sphere (north), left eye west of the right eye."""
    pano = load_panorama("venice_sunset", 1024)
    view = patch_view(portrait.shape, 170.0, 60.0, 50.0)
    paste(pano, portrait, view)
    (face,) = detect_on_sphere(pano, faces)
    eyes, mouth = np.array(face.landmarks[:2]), np.array(face.landmarks[3:])
    assert eyes[:, 1].min() > mouth[:, 1].max()
    assert ((eyes[1, 0] - eyes[0, 0] + 180) % 360 - 180) > 0


def test_text_found_and_read(page, texts):
    pano = load_panorama("spruit_sunrise", 1024)
    x0, y0, x1, y1 = 151, 12, 292, 30  # "segmentation" in scikit-image's page.png
    crop = np.ascontiguousarray(page[y0 - 10 : y1 + 10, x0 - 10 : x1 + 10])
    crop[:, :8] = crop[:, -8:] = np.median(crop[:4], axis=(0, 1)).astype(np.uint8)
    view = patch_view(crop.shape, -179.0, 45.0, 40.0)
    paste(pano, crop, view)
    truth = box_geometry(view, (9.5, 9.5, 150.5, 27.5))
    found = [d for d in detect_on_sphere(pano, texts) if iou(truth, d.geometry) >= 0.5]
    assert len(found) == 1
    assert found[0].text == "segmentation"


def test_spherical_nms_merges_copies_across_the_seam():
    a = View(179.0, 0.0, 0.0, 40.0, 200, 200)
    b = View(-178.0, 2.0, 0.0, 50.0, 300, 300)
    quad_a = np.array([[80.0, 80.0], [120.0, 80.0], [120.0, 120.0], [80.0, 120.0]])
    lon, lat = a.pixel_to_lonlat(quad_a[:, 0], quad_a[:, 1])
    xb, yb = b.lonlat_to_pixel(lon, lat)
    quad_b = np.stack([xb, yb], axis=1) + 0.3
    far = np.array([[10.0, 10.0], [30.0, 10.0], [30.0, 30.0], [10.0, 30.0]])
    cands = [
        to_sphere(a, RawDetection(quad_a, 0.9), "face"),
        to_sphere(b, RawDetection(quad_b, 0.95), "face"),
        to_sphere(b, RawDetection(far, 0.8), "face"),
    ]
    merged = spherical_nms(cands)
    assert len(merged) == 2
    assert sorted(m.extra.get("views", 1) for m in merged) == [1, 2]
