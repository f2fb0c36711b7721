"""Stabilisation, sky replacement and colour transfer: algorithms against known truth, and
the three job kinds end to end (assets, clear errors, params fuzzing)."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from inference.aerial.colour import linear_to_srgb, srgb_to_linear, transfer, transfer_sequence
from inference.aerial.jobs import (
    validate_colour_transfer,
    validate_replace_sky,
    validate_stabilise,
)
from inference.aerial.rotations import angle_deg, smooth_rotations
from inference.aerial.sky import NoSkyError, replace_sky, segment_sky, sky_iou, sky_plate
from inference.aerial.stabilise import estimate_up, stabilise_frames
from inference.registry import ParamsError
from label360.sphere.projection import rotate_equirect
from label360.sphere.views import View
from label360.synthetic import render

DATA = Path(__file__).resolve().parents[2] / "data" / "polyhaven"


def _real(name: str, width: int = 1024) -> np.ndarray:
    from annotations.imaging import tonemap_to_uint8

    hdr = cv2.imread(str(DATA / name), cv2.IMREAD_UNCHANGED)[:, :, ::-1]
    rgb = tonemap_to_uint8(np.ascontiguousarray(hdr))
    if rgb.shape[1] != width:
        rgb = cv2.resize(rgb, (width, width // 2), interpolation=cv2.INTER_CUBIC)
    return rgb


def delta_e2000(a: np.ndarray, b: np.ndarray) -> float:
    """Solid-angle-weighted mean CIEDE2000 between two 8-bit sRGB panoramas."""
    import colour

    from inference.prelabel.merge import pixel_solid_angles

    lab_a = colour.XYZ_to_Lab(colour.sRGB_to_XYZ(a / 255.0))
    lab_b = colour.XYZ_to_Lab(colour.sRGB_to_XYZ(b / 255.0))
    d = colour.delta_E(lab_a, lab_b, method="CIE 2000")
    w = np.broadcast_to(pixel_solid_angles(a.shape[1], a.shape[0]), d.shape)
    return float((d * w).sum() / w.sum())


# -- colour transfer -------------------------------------------------------------------------
@pytest.mark.parametrize("gains, ev", [((1.25, 1.0, 0.75), -0.5), ((0.85, 1.0, 1.2), 0.5)])
def test_colour_cast_is_undone(gains, ev):
    original = _real("venice_sunset_1k.hdr")
    cast = linear_to_srgb(srgb_to_linear(original) * np.array(gains, np.float32) * 2.0**ev)
    before = delta_e2000(cast, original)
    after = delta_e2000(transfer(cast, original), original)
    assert before > 8 and after <= 3.0, (before, after)


def test_sequence_transfer_is_temporally_smooth():
    original = _real("pedestrian_overpass_1k.hdr", 512)
    lin = srgb_to_linear(original)
    # a flickering exposure: +-0.3 EV alternating
    frames = [linear_to_srgb(lin * 2.0 ** (0.3 * (-1) ** k)) for k in range(6)]
    out = transfer_sequence(frames, original, sigma_frames=0.0)
    smooth = transfer_sequence(frames, original, sigma_frames=3.0)
    mean = [float(f.mean()) for f in out]
    assert max(mean) - min(mean) < 1.0  # each frame matched to the reference: no flicker left
    assert len(smooth) == 6 and all(f.shape == original.shape for f in smooth)


def test_colour_transfer_refuses_bad_inputs():
    img = _real("venice_sunset_1k.hdr", 256)
    with pytest.raises(ValueError, match="2:1"):
        transfer(img[:, :100], img)
    with pytest.raises(ValueError, match="unclipped|usable"):
        transfer(np.full_like(img, 255), img)


# -- stabilisation ---------------------------------------------------------------------------
def _rotated_sequence(base: np.ndarray, n: int, seed: int, jpeg: bool = True):
    rng = np.random.default_rng(seed)
    frames, truth = [], []
    for _ in range(n):
        r = View(rng.uniform(-180, 180), rng.uniform(-10, 10), rng.uniform(-10, 10), 90, 1, 1)
        img = rotate_equirect(base, r.rotation())
        img = np.clip(img + rng.normal(0, 2, img.shape), 0, 255).astype(np.uint8)
        if jpeg:
            ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
            img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        frames.append(img)
        truth.append(r.rotation())
    return frames, truth


def test_rotations_of_a_real_panorama_are_recovered_and_levelled():
    base = _real("royal_esplanade_1k.hdr", 1024)
    frames, truth = _rotated_sequence(base, 4, seed=2)
    out, res = stabilise_frames(frames, mode="lock", level=True)
    # frame k shows at R_k d what the base shows at d, so A_k = R_0 R_k^T
    errors = [angle_deg(res.path[k].T @ truth[0] @ truth[k].T) for k in range(4)]
    assert np.median(errors) <= 0.2 and max(errors) <= 0.5, errors
    true_up = truth[0] @ np.array([0.0, 1.0, 0.0])
    tilt = np.degrees(np.arccos(np.clip(res.up @ true_up, -1, 1)))
    assert tilt <= 0.5, tilt
    # after lock + levelling every output frame is the base up to a yaw (one resampling)
    for k in range(4):
        level_tilt = angle_deg(res.rotations[k] @ truth[k])  # remaining rotation of base
        residual = res.rotations[k] @ truth[k]
        assert abs(residual[1, 1] - 1) < 1e-3 or level_tilt >= 0  # yaw only: y axis kept
        assert np.degrees(np.arccos(np.clip(residual[1, 1], -1, 1))) <= 0.6


def test_synthetic_sequence_with_translation():
    frames = render_sequence_frames()
    out, res = stabilise_frames([f.rgb for f in frames], mode="lock", level=False)
    r0 = frames[0].camera.rotation()
    errors = []
    for k, f in enumerate(frames):
        true_a = r0.T @ f.camera.rotation()  # frame k dirs -> frame 0 dirs
        errors.append(angle_deg(res.path[k].T @ true_a))
    assert np.median(errors) <= 0.35, errors  # 1024 wide; the benchmark measures 2048


def render_sequence_frames():
    from label360.synthetic import render_sequence

    return render_sequence("street", 4, width=1024, n_frames=4)


def test_scene_without_verticals_is_not_levelled():
    with pytest.raises(ValueError, match="vertical lines"):
        estimate_up([_real("pedestrian_overpass_1k.hdr", 1024)])


def test_smoothing_keeps_a_constant_turn_and_removes_shake():
    rng = np.random.default_rng(0)
    path = [View(10.0 * k, rng.uniform(-2, 2), 0, 90, 1, 1).rotation() for k in range(80)]
    smooth = smooth_rotations(path, 5.0)
    ideal = [View(10.0 * k, 0, 0, 90, 1, 1).rotation() for k in range(80)]
    before = np.mean([angle_deg(a.T @ b) for a, b in zip(path, ideal, strict=True)][20:-20])
    after = np.mean([angle_deg(a.T @ b) for a, b in zip(smooth, ideal, strict=True)][20:-20])
    assert after < 0.5 * before


# -- sky -------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [3, 5])
def test_sky_segmentation_on_synthetic_streets(seed):
    r = render("street", seed, width=1024)
    mask = segment_sky(r.rgb)
    assert sky_iou(mask, r.sky_mask) >= 0.95


def test_room_has_no_sky():
    with pytest.raises(NoSkyError):
        segment_sky(render("room", 1, width=512).rgb)


def test_sky_plate_keeps_the_sky_and_hides_the_other_skyline():
    street = render("street", 5, width=512)
    plate = sky_plate(street.rgb, street.sky_mask)
    assert np.array_equal(plate[street.sky_mask], street.rgb[street.sky_mask])
    # below the skyline every pixel is a blend of sky colours (inside the sky's colour box),
    # where the original showed buildings and road (much of it outside that box)
    sky_px = street.rgb[street.sky_mask].astype(int)
    lo, hi = sky_px.min(axis=0) - 1, sky_px.max(axis=0) + 1
    below = ~street.sky_mask
    assert ((plate[below] >= lo) & (plate[below] <= hi)).all()
    outside = ((street.rgb[below] < lo) | (street.rgb[below] > hi)).any(axis=1)
    assert outside.mean() > 0.5
    with pytest.raises(NoSkyError):
        sky_plate(street.rgb, np.zeros_like(street.sky_mask))


def test_replacement_changes_only_the_sky_and_relights():
    r = render("street", 3, width=512)
    new_sky = _real("venice_sunset_1k.hdr", 512)
    out = replace_sky(r.rgb, r.sky_mask, new_sky, feather_deg=0.0, relight=0.0)
    assert np.array_equal(out[~r.sky_mask], r.rgb[~r.sky_mask])  # relight 0: fg untouched
    assert not np.array_equal(out[r.sky_mask], r.rgb[r.sky_mask])
    relit = replace_sky(r.rgb, r.sky_mask, new_sky, feather_deg=0.0, relight=1.0)
    assert not np.array_equal(relit[~r.sky_mask], r.rgb[~r.sky_mask])
    with pytest.raises(NoSkyError):
        replace_sky(r.rgb, np.zeros_like(r.sky_mask), new_sky)


# -- params ----------------------------------------------------------------------------------
@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "mode",
                "sigma_frames",
                "level",
                "max_width",
                "fps",
                "reference",
                "space",
                "sky_panorama",
                "heading",
                "relight",
                "sky_class",
                "x",
            ]
        ),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(-(10**30), 10**30),
            st.floats(allow_nan=True),
            st.text(max_size=300),
        ),
        max_size=6,
    )
)
def test_params_are_validated_or_refused_clearly(params):
    for validate in (validate_stabilise, validate_replace_sky, validate_colour_transfer):
        try:
            out = validate(params)
        except ParamsError as exc:
            assert str(exc)
        else:
            assert isinstance(out, dict)


# -- jobs end to end -------------------------------------------------------------------------
def _store(project, rgb: np.ndarray, name: str):
    from annotations.uploads import store_panorama

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return store_panorama(project, name, buf.getvalue())


@pytest.mark.django_db
def test_jobs_end_to_end(users, project):
    from inference.models import DerivedAsset, JobStatus
    from inference.runner import execute
    from inference.services import submit_job

    base = _real("royal_esplanade_1k.hdr", 512)
    frames, _ = _rotated_sequence(base, 3, seed=5, jpeg=False)
    panos = [_store(project, f, f"frame_{k:03d}.png") for k, f in enumerate(frames)]
    street = render("street", 3, width=512).rgb
    street_pano = _store(project, street, "street.png")
    sky_pano = _store(project, _real("venice_sunset_1k.hdr", 512), "sunset.png")

    job = submit_job("stabilise", users["manager"], project, panos, {"mode": "lock"})
    assert execute(job.pk) == JobStatus.SUCCEEDED, job.refresh_from_db() or job.error
    job.refresh_from_db()
    assert set(job.result["frames"]) == {str(p.pk) for p in panos}
    assert DerivedAsset.objects.filter(kind="stabilised_video").count() == 1
    assert DerivedAsset.objects.filter(kind="stabilised").count() == 3

    job = submit_job(
        "colour_transfer", users["manager"], project, panos, {"reference": sky_pano.pk}
    )
    assert execute(job.pk) == JobStatus.SUCCEEDED
    assert DerivedAsset.objects.filter(kind="colour_matched").count() == 3

    job = submit_job(
        "replace_sky", users["manager"], project, [street_pano], {"sky_panorama": sky_pano.pk}
    )
    assert execute(job.pk) == JobStatus.SUCCEEDED
    mask_asset = DerivedAsset.objects.get(kind="sky_mask", panorama=street_pano)
    with mask_asset.file.open("rb") as handle:
        assert np.asarray(Image.open(handle)).any()

    # the admin shows the before/after preview and the mask as pictures on the job's page
    from django.test import Client
    from django.urls import reverse

    admin = Client()
    admin.force_login(users["admin"])
    page = admin.get(reverse("admin:inference_job_change", args=[job.pk])).content.decode()
    preview = DerivedAsset.objects.get(kind="sky_preview", panorama=street_pano)
    for asset in (preview, mask_asset):
        src = reverse("derived-asset-file", kwargs={"pk": asset.pk})
        assert f'<img src="{src}"' in page
        picture = admin.get(src)
        assert picture.status_code == 200
        assert Image.open(io.BytesIO(b"".join(picture.streaming_content))).size[0] > 0


@pytest.mark.django_db
def test_jobs_fail_clearly(users, project):
    from inference.models import JobStatus
    from inference.runner import execute
    from inference.services import submit_job

    one = _store(project, _real("royal_esplanade_1k.hdr", 256), "a.png")
    other_size = _store(project, _real("royal_esplanade_1k.hdr", 512), "b.png")
    room = _store(project, render("room", 1, width=256).rgb, "room.png")

    job = submit_job("stabilise", users["manager"], project, [one], {})
    assert execute(job.pk) == JobStatus.FAILED
    job.refresh_from_db()
    assert job.error == "stabilisation needs a sequence of at least 2 frames"

    job = submit_job("stabilise", users["manager"], project, [one, other_size], {})
    execute(job.pk)
    job.refresh_from_db()
    assert "a sequence needs frames of one size" in job.error

    job = submit_job("replace_sky", users["manager"], project, [room], {"sky_panorama": one.pk})
    execute(job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and "no sky found" in job.error

    job = submit_job(
        "replace_sky",
        users["manager"],
        project,
        [one],
        {"sky_panorama": one.pk, "sky_class": "car"},
    )
    execute(job.pk)
    job.refresh_from_db()
    assert job.error == f"panorama {one.pk} has no polygons of class 'car'"


@pytest.mark.django_db
def test_sequence_order_beats_file_names(users, project):
    from inference.aerial.jobs import ordered_frames
    from inference.models import Job
    from sequences.services import create_from_panoramas

    base = _real("venice_sunset_1k.hdr", 128)
    panos = [_store(project, np.roll(base, 7 * k, axis=1), f"z_{9 - k}.png") for k in range(3)]
    by_name = Job.objects.create(kind="stabilise", project=project, params={})
    by_name.panoramas.add(*panos)
    assert [p.pk for p in ordered_frames(by_name)] == [p.pk for p in reversed(panos)]
    sequence = create_from_panoramas(project, "flight", [p.pk for p in panos], fps=2.0)
    assert [p.pk for p in ordered_frames(by_name)] == [p.pk for p in panos]
    named = Job.objects.create(kind="stabilise", project=project, params={"sequence": sequence.pk})
    assert [p.pk for p in ordered_frames(named)] == [p.pk for p in panos]
    missing = Job.objects.create(kind="stabilise", project=project, params={"sequence": 999})
    with pytest.raises(Exception, match="sequence 999 not found"):
        ordered_frames(missing)


class _BlueIsSky:
    """A stand-in semantic model: "sky" wherever blue clearly beats red (logits per pixel)."""

    def __call__(self, x):
        import torch

        score = 40.0 * (x[:, 2:3] - x[:, 0:1] - 0.15)
        return torch.cat([torch.zeros_like(score), score], dim=1)


def test_sky_from_a_semantic_model_is_fused_on_the_sphere():
    from inference.aerial.sky import sky_from_model
    from inference.prelabel.predict import SemanticPredictor

    rgb = render("street", 3, width=512).rgb
    predictor = SemanticPredictor(_BlueIsSky(), ["background", "sky"], view_size=128)
    mask = sky_from_model(rgb, predictor, sky_index=1)
    x = rgb.astype(np.float32) / 255
    direct = (x[:, :, 2] - x[:, :, 0] - 0.15) > 0
    assert sky_iou(mask, direct) >= 0.95
