"""HDR recovery from one LDR panorama: response curves, clipped-region reconstruction, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inference.prelabel.merge import pixel_solid_angles
from inference.reexpose.pipeline import InputError, RecoverOptions, recover_hdr
from inference.reexpose.response import Response, estimate_response
from label360.exr import read_exr, write_exr

from .helpers import edge_image, sky_panorama, to_ldr

LUMA = np.array([0.2126, 0.7152, 0.0722])


# -- response curves -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "response",
    [
        Response("srgb"),
        Response("gamma", 1.8),
        Response("shoulder", 2.2, 0.8),
        Response("table", table=tuple(np.linspace(0, 1, 64) ** 2.0)),
    ],
    ids=lambda r: r.kind,
)
def test_forward_and_inverse_are_inverse(response):
    x = np.linspace(0.0, 1.0, 1001, dtype=np.float32)
    back = response.inverse(response.forward(x))
    assert np.max(np.abs(back - x)) < 2e-3
    lut = response.lut(256)
    assert lut[0] == 0 and abs(lut[-1] - 1) < 1e-6 and np.all(np.diff(lut) >= 0)


def test_bad_response_tables_are_refused():
    with pytest.raises(ValueError):
        Response("table", table=(0.0, 0.5, 0.4, 1.0))
    with pytest.raises(ValueError):
        Response("gamma", 9.0)


@pytest.mark.parametrize("truth", [Response("gamma", 2.2), Response("shoulder", 1.8, 1.0)])
def test_response_estimated_from_true_edges(truth):
    linear = edge_image(384)
    codes = np.round(truth.forward(linear) * 255) / 255
    est = estimate_response(codes)
    assert est.source == "estimated" and "fallback" not in est.info
    v = np.linspace(0.05, 0.95, 50)
    err = np.sqrt(np.mean(np.log(est.inverse(v) / truth.inverse(v)) ** 2))
    assert err < 0.12, (est.describe(), err)


def test_response_estimation_falls_back_to_srgb_without_edges():
    ramp = np.tile(np.linspace(0.1, 0.9, 128, dtype=np.float32)[None, :, None], (64, 1, 3))
    est = estimate_response(ramp)
    assert est.kind == "srgb" and "fallback" in est.info


# -- errors ----------------------------------------------------------------------------------
def test_already_hdr_input_is_refused_with_a_clear_message():
    radiance, _ = sky_panorama(64)
    with pytest.raises(InputError, match="already high dynamic range"):
        recover_hdr(radiance)


@pytest.mark.parametrize(
    ("value", "message"), [(0, "black"), (255, "white"), (1, "black")], ids=["0", "255", "1"]
)
def test_black_or_white_image_gives_a_clear_error(value, message):
    with pytest.raises(InputError, match=message):
        recover_hdr(np.full((32, 64, 3), value, np.uint8))


def test_black_and_white_only_is_refused():
    image = np.zeros((32, 64, 3), np.uint8)
    image[:, ::2] = 255
    with pytest.raises(InputError, match="black and saturated"):
        recover_hdr(image)


def test_non_equirect_and_tiny_inputs_are_refused():
    with pytest.raises(InputError, match="2:1"):
        recover_hdr(np.full((40, 64, 3), 100, np.uint8))
    with pytest.raises(InputError, match="too small"):
        recover_hdr(np.full((4, 8, 3), 100, np.uint8))


# -- recovery --------------------------------------------------------------------------------
def test_nothing_clipped_is_the_linearised_image():
    radiance, _ = sky_panorama(128, sun_gain=0.0)
    ldr = to_ldr(radiance, 0.5 / float(radiance.max()))
    out = recover_hdr(ldr, RecoverOptions(response="srgb"))
    assert out.info["scene"] == "nothing clipped"
    assert np.array_equal(out.radiance, Response("srgb").lut(256)[ldr])


def test_linear_exr_round_trip_is_exact():
    radiance, _ = sky_panorama(128)
    out = recover_hdr(to_ldr(radiance, 0.5), RecoverOptions(response="srgb"))
    back = read_exr(write_exr(out.radiance))
    assert back.dtype == np.float32 and np.array_equal(back, out.radiance)


@pytest.fixture(scope="module")
def sunny():
    radiance, sun = sky_panorama(512)
    scale = 0.4  # the sun and its aureole clip (a blob of ~13° radius), the rest does not
    ldr = to_ldr(radiance, scale)
    return radiance * scale, sun, ldr, recover_hdr(ldr, RecoverOptions(response="srgb"))


def test_sun_found_within_two_degrees_and_energy_recovered(sunny):
    truth, sun, ldr, out = sunny
    assert out.info["scene"] == "outdoor" and out.sun is not None
    assert math.degrees(math.acos(min(1.0, float(out.sun @ sun)))) < 2.0
    clipped = out.clipped.any(axis=2)
    assert 0.001 < clipped.mean() < 0.2
    sr = np.broadcast_to(pixel_solid_angles(512, 256), clipped.shape)
    true_e = float((sr * clipped * (truth @ LUMA)).sum())
    rec_e = float((sr * clipped * (out.radiance @ LUMA)).sum())
    kept_e = float((sr * clipped * (np.minimum(truth, 1.0) @ LUMA)).sum())  # clipping left
    assert abs(rec_e - true_e) < 0.5 * abs(kept_e - true_e)
    # clipped channels never come out below the clip level
    floor = Response("srgb").inverse(np.float32(250 / 255))
    assert np.all(out.radiance[out.clipped] >= floor - 1e-6)


def test_no_seam_at_the_clipping_border(sunny):
    truth, _, _, out = sunny
    clipped = out.clipped.any(axis=2)
    log_r = np.log(np.maximum(out.radiance @ LUMA, 1e-9))
    log_t = np.log(np.maximum(truth @ LUMA, 1e-9))
    across = clipped[:, 1:] != clipped[:, :-1]
    step_r = np.abs(np.diff(log_r, axis=1))[across].mean()
    step_t = np.abs(np.diff(log_t, axis=1))[across].mean()
    assert step_r <= 1.5 * step_t


def test_recovery_wraps_at_the_seam():
    """A sun straddling lon ±180 is rebuilt like the same sun away from the seam."""
    radiance, _ = sky_panorama(256, sun_lon=180.0, sun_lat=20.0)
    ldr = to_ldr(radiance, 0.4)
    at_seam = recover_hdr(ldr, RecoverOptions(response="srgb")).radiance
    moved = recover_hdr(np.roll(ldr, 128, axis=1), RecoverOptions(response="srgb")).radiance
    back = np.roll(moved, -128, axis=1)
    clipped = (ldr >= 250).any(axis=2)
    rel = np.abs(np.log(at_seam[clipped] / back[clipped]))
    assert np.median(rel) < 0.05 and np.percentile(rel, 99) < 0.3
    # and across the seam column itself the result is continuous
    col = np.abs(np.log(at_seam[:, 0] / at_seam[:, -1]))
    inside = np.abs(np.log(at_seam[:, 128] / at_seam[:, 127]))
    assert col.max() < 3 * max(inside.max(), 0.05)


def test_sixteen_bit_input_is_recovered():
    radiance, _ = sky_panorama(128)
    x = np.clip(radiance * 0.5, 0, 1)
    codes = np.round(Response("srgb").forward(x) * 65535).astype(np.uint16)
    out = recover_hdr(codes, RecoverOptions(response="srgb"))
    assert out.radiance.max() > 1.0 and np.all(np.isfinite(out.radiance))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    height=st.sampled_from([8, 16, 24]),
    seed=st.integers(0, 2**31 - 1),
    clip=st.floats(0.0, 1.0),
    dtype=st.sampled_from(["uint8", "uint16", "float32", "int32"]),
    response=st.sampled_from(["srgb", "gamma", "estimate"]),
)
def test_fuzz_recover_returns_finite_radiance_or_a_clear_error(height, seed, clip, dtype, response):
    rng = np.random.default_rng(seed)
    top = {"uint8": 255, "uint16": 65535, "float32": 4.0, "int32": 1000}[dtype]
    image = rng.uniform(0, top, (height, 2 * height + int(rng.integers(0, 2)), 3))
    image[rng.random(image.shape[:2]) < clip] = top
    image = image.astype(dtype)
    try:
        out = recover_hdr(image, RecoverOptions(response=response))
    except InputError as exc:
        assert str(exc)
        return
    assert out.radiance.shape == image.shape[:2] + (3,)
    assert np.all(np.isfinite(out.radiance)) and np.all(out.radiance >= 0)
