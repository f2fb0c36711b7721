"""Single-panorama removal: only mask pixels change, the work frame round-trips, masks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inference.cameraman.frame import (
    composite,
    crop_mask,
    extract,
    make_frame,
    mask_extent,
    rotation_to_front,
)
from inference.cameraman.inpaint import InpaintError, InpaintOptions, inpaint
from inference.cameraman.mask import cap_mask, grow, polygon_mask
from inference.cameraman.remove import RemovalOptions, remove
from label360.sphere.projection import equirect_directions
from label360.sphere.raster import rasterize
from label360.sphere.vectors import lonlat_to_vec

W, H = 256, 128


def scene(dtype=np.uint8, seed: int = 1) -> np.ndarray:
    """A textured panorama: smooth gradients plus seeded noise (uint8, uint16 or float)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    base = np.stack([x / W, y / H, 0.5 + 0.25 * np.sin(x / 9.0) * np.cos(y / 7.0)], -1)
    base = base + rng.normal(0, 0.04, base.shape)
    base = np.clip(base, 0, 1)
    if dtype == np.uint8:
        return (base * 255).round().astype(np.uint8)
    if dtype == np.uint16:
        return (base * 65535).round().astype(np.uint16)
    return (base * 8.0).astype(np.float32)  # radiance


TRIPOD = [[[[0.0, -75.0], [120.0, -75.0], [-120.0, -75.0]]]]  # a cap round the nadir


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("method", ["blend", "patch", "smooth"])
@pytest.mark.parametrize("rotate", [True, False])
def test_every_pixel_outside_the_mask_is_bit_identical(dtype, method, rotate):
    image = scene(dtype)
    original = image.copy()
    mask = cap_mask(W, H, 25)
    result = remove(image, mask, RemovalOptions(InpaintOptions(method=method), rotate=rotate))
    assert np.array_equal(image, original)  # the input is not touched
    assert result.image.dtype == image.dtype and result.image.shape == image.shape
    assert result.mask[mask].all()  # grown, never shrunk
    outside = ~result.mask
    assert np.array_equal(result.image[outside], original[outside])
    assert not np.array_equal(result.image[mask], original[mask])  # something was filled


def test_polygon_mask_is_the_exact_raster_and_only_it_changes():
    image = scene()
    geometry = [[[[30.0, -10.0], [60.0, -10.0], [60.0, 15.0], [30.0, 15.0]]]]
    mask = polygon_mask([geometry], W, H)
    assert np.array_equal(mask, rasterize(geometry, W, H))
    result = remove(image, mask, RemovalOptions(grow_px=0))
    assert np.array_equal(result.mask, mask)
    assert np.array_equal(result.image[~mask], image[~mask])


def test_the_fill_never_reads_the_occluder():
    """Whatever is pasted under the mask, the result is the same."""
    image = scene()
    mask = cap_mask(W, H, 20)
    painted = image.copy()
    painted[mask] = (255, 0, 255)
    a = remove(image, mask, RemovalOptions(InpaintOptions(seed=3)))
    b = remove(painted, mask, RemovalOptions(InpaintOptions(seed=3)))
    assert np.array_equal(a.image, b.image)


def test_rotation_takes_the_mask_centre_to_the_front():
    for lon, lat in [(0.0, -90.0), (37.0, -60.0), (-150.0, 20.0), (179.0, 89.0)]:
        r = rotation_to_front(lonlat_to_vec(lon, lat))
        assert np.allclose(r @ r.T, np.eye(3), atol=1e-12)
        assert np.allclose(r @ lonlat_to_vec(lon, lat), [0, 0, 1], atol=1e-12)
    centre, radius = mask_extent(cap_mask(W, H, 30))
    assert np.allclose(centre, [0, -1, 0], atol=1e-6)
    assert 30.0 - 180.0 / H < radius < 30.0  # pixel centres: within one row


def test_work_frame_round_trip_reproduces_the_panorama():
    """Rotate to the work frame and back without inpainting: the mask pixels come back
    close to the original (bilinear twice), everything else exactly."""
    y, x = np.mgrid[0:H, 0:W]
    lon = (x + 0.5) / W * 2 * np.pi
    lat = (y + 0.5) / H * np.pi
    smooth = np.stack([np.cos(lon) * np.sin(lat), np.sin(lon) * np.sin(lat), np.cos(lat)], -1)
    image = ((smooth + 1) * 100).astype(np.float32)  # continuous on the sphere
    mask = cap_mask(W, H, 40)
    frame = make_frame(mask, 10.0)
    crop = extract(image, frame)
    back = composite(image, crop, mask, frame)
    assert np.array_equal(back[~mask], image[~mask])
    assert np.abs(back[mask] - image[mask]).max() < 0.5  # of a 0..200 range


def test_no_occluder_colour_reaches_the_known_crop_or_the_result():
    """The crop's hole is as tight as the mask; known crop pixels next to it are sampled
    from unmasked source pixels only, so a fill that only copies known crop pixels puts no
    occluder colour back."""
    image = scene(np.float32)  # radiance in 0..8
    mask = cap_mask(W, H, 30)
    image[mask] = 1e6  # the occluder
    frame = make_frame(mask, 15.0)
    cropped = crop_mask(mask, frame)
    crop = cropped.clean(extract(image, frame), image)
    known = ~cropped.hole
    assert crop[known].max() <= 8.0 and cropped.border.size > 0
    # the hole is what is mostly masked: about the mask's own area, not a wider band
    touched = extract(mask.astype(np.float32), frame) > 0
    assert cropped.hole.sum() < touched.sum()
    filled = crop.copy()
    filled[cropped.hole] = 3.0  # any fill made of clean values
    out = composite(image, filled, mask, frame)
    assert out[mask].max() <= 8.0
    assert np.array_equal(out[~mask], image[~mask])


def test_a_thin_mask_is_filled_from_its_clean_neighbours():
    """A mask narrower than the footprint (one source pixel) leaves no crop pixel mostly
    masked: its pixels get the clean bilinear mix of the pixels round them."""
    image = scene(np.float32)
    mask = np.zeros((H, W), bool)
    mask[70, 100:140] = True
    image[mask] = 1e6
    result = remove(image, mask, RemovalOptions(grow_px=0))
    assert result.image[mask].max() <= 8.0


def test_grow_widens_by_an_angle_on_the_sphere():
    mask = cap_mask(W, H, 20)
    frame = make_frame(mask, 10.0)
    grown = grow(mask, frame, 3)
    assert grown[mask].all()
    rows = np.nonzero(grown.any(axis=1))[0]
    # the cap edge moves by the same angle at every longitude
    first = np.argmax(grown, axis=0)
    assert abs(int(first.min()) - int(first.max())) <= 1
    assert 3 <= np.nonzero(mask.any(axis=1))[0].min() - rows.min() <= 6  # 3 + footprint


def test_inpaint_errors_are_clear():
    image = scene().astype(np.float32)
    with pytest.raises(InpaintError, match="whole image"):
        inpaint(image, np.ones((H, W), bool), InpaintOptions())
    with pytest.raises(InpaintError, match="method"):
        inpaint(image, cap_mask(W, H, 20), InpaintOptions(method="magic"))
    with pytest.raises(InpaintError, match="empty"):
        remove(scene(), np.zeros((H, W), bool))
    with pytest.raises(ValueError, match="spreads"):
        make_frame(cap_mask(W, H, 89), 10.0)


def test_patch_method_beats_smooth_on_texture():
    """A periodic texture (a checker with a period of 8 px, so a 7-px patch sees where it is
    in it): the exemplar method continues it, the smooth fill blurs it."""
    y, x = np.mgrid[0:H, 0:W]
    stripes = (((x // 4) + (y // 4)) % 2 * 200 + 20).astype(np.uint8)
    image = np.repeat(stripes[:, :, None], 3, axis=2)
    geometry = [[[[-20.0, -15.0], [20.0, -15.0], [20.0, 15.0], [-20.0, 15.0]]]]
    mask = polygon_mask([geometry], W, H)
    errors = {}
    for method in ("patch", "smooth"):
        out = remove(image, mask, RemovalOptions(InpaintOptions(method=method), grow_px=0))
        errors[method] = float(np.abs(out.image[mask].astype(float) - image[mask]).mean())
    assert errors["patch"] < 0.3 * errors["smooth"], errors


def test_blend_keeps_the_smooth_structure_and_copies_texture_at_its_true_strength():
    """Noise over a smooth gradient (ground seen from above), a 50°x40° hole: the blend is
    as rough as the true image inside, where the smooth fill is flat and averaging the
    patches halves the roughness. The layout of noise cannot be known, so copied texture
    costs what independent noise of the true strength costs — no more — and the blend stays
    below the exemplar alone."""
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    noise = 12.0
    grey = 60 + 120 * (x / W) + 40 * np.sin(y / 20.0) + rng.normal(0, noise, (H, W))
    image = np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[:, :, None], 3, axis=2)
    geometry = [[[[-25.0, -20.0], [25.0, -20.0], [25.0, 20.0], [-25.0, 20.0]]]]
    mask = polygon_mask([geometry], W, H)
    outs, errors = {}, {}
    for name, options in {
        "blend": InpaintOptions(method="blend"),
        "patch": InpaintOptions(method="patch"),
        "smooth": InpaintOptions(method="smooth"),
        "blend-averaged": InpaintOptions(method="blend", copy_patches=False),
    }.items():
        out = remove(image, mask, RemovalOptions(options, grow_px=0))
        outs[name] = out.image[..., 0].astype(float)
        errors[name] = float(np.sqrt(((outs[name][mask] - grey[mask]) ** 2).mean()))
    assert errors["blend"] < errors["patch"], errors
    assert errors["blend"] < 1.05 * math.hypot(errors["smooth"], noise), errors

    def roughness(values):  # mean absolute horizontal step inside the mask
        inner = mask[:, 1:] & mask[:, :-1]
        return float(np.abs(np.diff(values, axis=1))[inner].mean())

    truth = roughness(grey)
    assert 0.85 * truth < roughness(outs["blend"]) < 1.15 * truth
    assert roughness(outs["blend-averaged"]) < 0.6 * truth
    assert roughness(outs["smooth"]) < 0.1 * truth


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    lon=st.floats(-180, 180),
    lat=st.floats(-89, 89),
    radius=st.floats(1.0, 30.0),
)
def test_crop_mask_never_reads_the_occluder(seed, lon, lat, radius):
    """Any blob anywhere (across the seam, over a pole): the kept footprints hold no masked
    source pixel and sum to one, and every crop pixel reading only masked pixels is a hole."""
    rng = np.random.default_rng(seed)
    centre = lonlat_to_vec(lon, lat)
    dirs = equirect_directions(W, H).reshape(H, W, 3)
    mask = (dirs @ centre > np.cos(np.radians(radius))) & (rng.uniform(size=(H, W)) < 0.9)
    if not mask.any():
        return
    frame = make_frame(mask, 10.0)
    cropped = crop_mask(mask, frame)
    flat = mask.reshape(-1)
    assert not (flat[cropped.sources] & (cropped.weights > 0)).any()
    assert np.allclose(cropped.weights.sum(axis=1), 1.0, atol=1e-5)
    assert not cropped.hole.reshape(-1)[cropped.border].any()
    every = extract(mask.astype(np.float32), frame) > 0.999
    assert cropped.hole[every].all()
