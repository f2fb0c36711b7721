"""Depth fusion against ground truth from the synthetic renderer (512×256).

The ORACLE estimator returns the true z-depth of each view (the renderer's distance along
the ray × cos of the ray's angle to the optical axis) hidden behind a random unknown scale
(``z`` mode) or scale and shift of inverse depth (``inverse`` mode, MiDaS-like). Errors are
measured up to one global scale, away from occlusion edges (``smooth_mask``).
"""

from __future__ import annotations

import numpy as np
import pytest

from inference.depth.metrics import abs_rel, seam_ratio, smooth_mask
from inference.depth.oracle import OracleEstimator
from inference.depth.outputs import normals_from_distance
from inference.depth.pipeline import DepthOptions, estimate_depth

synthetic = pytest.importorskip("label360.synthetic")
WIDTH = 512


@pytest.fixture(scope="module")
def scenes():
    return {kind: synthetic.render(kind, 3, WIDTH) for kind in ("room", "street")}


def _run(render, mode="z", layout="cube", seed=1, **options):
    est = OracleEstimator(
        render.depth, mode=mode, seed=seed, distortion=options.pop("distortion", 0)
    )
    return estimate_depth(render.rgb, est, DepthOptions(layout=layout, **options))


def _border(layout: str) -> np.ndarray:
    """Pixels whose east/south neighbour is nearest to another view (former view borders)."""
    from inference.depth.layouts import make_views
    from label360.sphere.projection import equirect_directions

    views = make_views(layout, 64)
    dirs = equirect_directions(WIDTH, WIDTH // 2)
    axes = np.array([v.rotation()[:, 2] for v in views])
    owner = np.argmax(dirs @ axes.T, axis=1).reshape(WIDTH // 2, WIDTH)
    border = owner != np.roll(owner, -1, axis=1)
    border[:-1] |= owner[:-1] != owner[1:]
    return border


@pytest.mark.parametrize("kind", ["room", "street"])
def test_scale_oracle_fused_matches_truth_without_seams(scenes, kind):
    r = scenes[kind]
    mask = smooth_mask(r.depth)
    res = _run(r, "z", "cube")
    assert abs_rel(res.distance, r.depth, mask) <= 0.02
    on, off = seam_ratio(res.distance, r.depth, _border("cube"), mask)
    assert on <= 1.5 * off + 1e-3, (on, off)


@pytest.mark.parametrize("kind", ["room", "street"])
def test_scale_and_shift_oracle_needs_alignment(scenes, kind):
    r = scenes[kind]
    mask = smooth_mask(r.depth)
    aligned = abs_rel(_run(r, "inverse", "icosa").distance, r.depth, mask)
    unaligned = abs_rel(_run(r, "inverse", "icosa", align=False).distance, r.depth, mask)
    assert aligned <= 0.02
    assert unaligned > 5 * aligned and unaligned > 0.05, (aligned, unaligned)


def test_poisson_removes_seams_that_hard_stitching_leaves(scenes):
    r = scenes["room"]
    mask = smooth_mask(r.depth)
    border = _border("cube")
    poisson = _run(r, "z", "cube", distortion=0.05)
    stitched = _run(r, "z", "cube", distortion=0.05, fusion="nearest")
    p_on, p_off = seam_ratio(poisson.distance, r.depth, border, mask)
    s_on, s_off = seam_ratio(stitched.distance, r.depth, border, mask)
    assert p_on <= 1.5 * p_off + 1e-3, (p_on, p_off)
    assert s_on > 5 * p_on, (s_on, p_on)


def test_wall_normals_within_3_degrees(scenes):
    r = scenes["room"]
    res = _run(r, "z", "cube")
    normals = normals_from_distance(res.distance)
    truth = r.normals @ r.camera.rotation()  # world -> camera frame (row vectors)
    wall = (r.class_ids == synthetic.CLASS_IDS["wall"]) & smooth_mask(r.depth, margin=3)
    lat = 90 - (np.arange(r.height) + 0.5) * 180 / r.height
    wall &= (np.abs(lat) < 60)[:, None]
    angles = np.degrees(np.arccos(np.clip(np.sum(normals[wall] * truth[wall], -1), -1, 1)))
    # the same finite differences on the TRUE depth: isolates what fusion adds
    reference = normals_from_distance(np.where(np.isfinite(r.depth), r.depth, 1e3))
    fused_vs_ref = np.degrees(
        np.arccos(np.clip(np.sum(normals[wall] * reference[wall], -1), -1, 1))
    )
    assert np.median(angles) < 3.0, np.percentile(angles, [50, 90])
    # KNOWN GAP: the tail is wider (90th percentile ~6° at 512×256), see docs/jobs.md
    assert np.median(fused_vs_ref) < 3.0 and np.percentile(fused_vs_ref, 90) < 8.0


def test_exr_bytes_round_trip():
    from inference.depth.outputs import exr_bytes
    from label360.exr import read_exr

    rng = np.random.default_rng(0)
    distance = rng.uniform(0.5, 80.0, (16, 32)).astype(np.float32)
    back = read_exr(exr_bytes(distance))
    assert back.dtype == np.float32 and back.shape == distance.shape
    assert np.array_equal(back, distance)


@pytest.mark.django_db
def test_depth_job_stores_an_exr_asset_that_round_trips(users, project):
    from inference.models import DerivedAsset, Job, JobStatus
    from inference.runner import execute
    from inference.services import submit_job
    from label360.exr import read_exr
    from tests.factories import make_panorama

    pano = make_panorama(project, seed=3, width=128)
    job = submit_job("depth", users["manager"], project, [pano], {"view_size": 48})
    assert execute(job.pk) == JobStatus.SUCCEEDED, Job.objects.get(pk=job.pk).error
    depth = np.load(DerivedAsset.objects.get(panorama=pano, kind="depth").file.open("rb"))
    with DerivedAsset.objects.get(panorama=pano, kind="depth_exr").file.open("rb") as handle:
        exr = read_exr(handle.read())
    assert exr.shape == depth.shape == (64, 128) and exr.dtype == np.float32
    assert np.array_equal(exr, depth)
