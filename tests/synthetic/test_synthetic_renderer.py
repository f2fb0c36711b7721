"""Checks of the synthetic 360° renderer against exact ground truth and the geometry core."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest
from synthetic_testutil import (
    CASES,
    HAVE_SPHERE,
    cached_render,
    check_instance_mask,
    sphere_area,
    validate_geometry,
)

from label360.synthetic import (
    CLASS_IDS,
    CLASSES,
    Box,
    Camera,
    Scene,
    make_scene,
    render,
    render_scene,
    render_sequence,
    write,
)
from label360.synthetic.__main__ import main as cli_main
from label360.synthetic.raycast import pixel_directions


@pytest.mark.parametrize(("kind", "seed"), CASES)
def test_exact_polygons_reproduce_instance_masks(kind, seed, record_property):
    """Rasterising each instance's exact polygons reproduces the rendered instance mask.

    Checked with the geometry core (label360.sphere.rasterize) and, independently, with a
    brute-force convex-part rasteriser, so a failure names which side is wrong.
    """
    r = cached_render(kind, seed)
    total_diff = 0
    checked = 0
    core_problems = []
    for ann in r.annotations:
        rendered = r.instance_ids == ann["id"]
        assert ann["pixel_count"] == int(rendered.sum())
        if not ann["visible"]:
            assert not rendered.any()
            continue
        assert ann["exact"]
        # Every differing pixel must lie within one pixel of the outline.
        n_diff, core_ok = check_instance_mask(ann["geometry"], rendered)
        if not core_ok:
            core_problems.append((ann["id"], n_diff))
        total_diff += n_diff
        checked += 1
    record_property("mismatched_pixels", total_diff)
    print(f"{kind} seed {seed}: {checked} instances, {total_diff} mismatched pixels")
    assert checked >= 5
    assert not core_problems, (
        f"label360.sphere.rasterize disagrees with brute force: {core_problems}"
    )
    # Render and polygons use the same pixel-centre rule, so only centres within rounding
    # error of an edge can disagree.
    assert total_diff <= 3


def test_amodal_silhouettes_for_unoccluded_boxes_and_seam_pole():
    # One box straddling the seam behind the camera, one containing the nadir, one the zenith.
    boxes = [
        Box(
            1,
            "car",
            (0.0, 1.0, -4.0),
            (2.0, 1.5, 1.0),
            10.0,
            {"pattern": "car", "seed": 1, "color": [0.5, 0.1, 0.1], "color2": [0.0, 0.0, 0.0]},
        ),
        Box(
            2,
            "pole",
            (0.0, 0.5, 0.0),
            (0.3, 1.0, 0.3),
            20.0,
            {"pattern": "metal", "seed": 2, "color": [0.3, 0.3, 0.3]},
        ),
        Box(
            3,
            "furniture",
            (0.2, 2.6, 0.1),
            (1.0, 0.2, 1.2),
            0.0,
            {"pattern": "wood", "seed": 3, "color": [0.4, 0.3, 0.2]},
        ),
    ]
    street = make_scene("street", 0)  # ground plane + sky: nothing hides the test boxes
    scene = Scene("street", 0, street.stuff, boxes, street.lights, Camera((0.0, 1.5, 0.0)))
    r = render_scene(scene, width=512)
    core_problems = []
    for ann in r.annotations:
        assert not ann["occluded"]
        assert ann["geometry"] == ann["amodal_geometry"]
        n_diff, core_ok = check_instance_mask(ann["geometry"], r.instance_ids == ann["id"])
        if not core_ok:
            core_problems.append((ann["id"], n_diff))
        else:
            assert n_diff <= 2
    seam = r.annotations[0]["geometry"][0][0]
    lons = [p[0] for p in seam]
    assert min(lons) < -150 and max(lons) > 150  # vertices on both sides of the seam
    assert all(-180 <= lon < 180 for lon in lons)
    assert (r.instance_ids[-1] == 2).all()  # nadir row fully inside the pole box
    assert (r.instance_ids[0] == 3).all()  # zenith row fully inside the ceiling board
    assert not core_problems, (
        f"label360.sphere.rasterize disagrees with brute force: {core_problems}"
    )


@pytest.mark.parametrize(("kind", "seed"), CASES)
def test_polygons_validate_and_areas(kind, seed):
    r = cached_render(kind, seed)
    pixel_sr = (2 * math.pi / r.width) * (math.pi / r.height)
    lat = np.radians(90.0 - (np.arange(r.height) + 0.5) / r.height * 180.0)
    weights = np.cos(lat)[:, None] * pixel_sr
    for ann in r.annotations:
        assert 0 <= ann["area_sr"] <= ann["amodal_area_sr"] + 1e-12
        assert ann["amodal_area_sr"] < 2 * math.pi
        geoms = [ann["amodal_geometry"]] + ([ann["geometry"]] if ann["visible"] else [])
        for g in geoms:
            for part in g:
                assert len(part) == 1 and len(part[0]) >= 3
                for lon, lat_ in part[0]:
                    assert -180.0 <= lon < 180.0 and -90.0 <= lat_ <= 90.0
            if HAVE_SPHERE:
                validate_geometry(g)
        if HAVE_SPHERE:
            assert sphere_area(ann["amodal_geometry"]) == pytest.approx(
                ann["amodal_area_sr"], rel=1e-9, abs=1e-12
            )
            if ann["visible"]:
                assert sphere_area(ann["geometry"]) == pytest.approx(
                    ann["area_sr"], rel=1e-9, abs=1e-12
                )
        # cos(lat)-weighted pixel area approximates the exact solid angle.
        est = float((weights * (r.instance_ids == ann["id"])).sum())
        assert est == pytest.approx(ann["area_sr"], abs=max(0.1 * ann["area_sr"], 40 * pixel_sr))


def _room_plane_truth(scene, camera, width, height):
    d = pixel_directions(width, height) @ camera.rotation().T
    p = np.asarray(camera.position)
    lo, hi = np.asarray(scene.stuff["min"]), np.asarray(scene.stuff["max"])
    with np.errstate(divide="ignore"):
        t_axes = np.stack(
            [
                np.where(d[..., a] > 0, (hi[a] - p[a]) / d[..., a], (lo[a] - p[a]) / d[..., a])
                for a in range(3)
            ],
            -1,
        )
    t_axes[~np.isfinite(t_axes)] = np.inf
    axis = np.argmin(t_axes, -1)
    t = np.min(t_axes, -1)
    n = np.zeros_like(d)
    np.put_along_axis(n, axis[..., None], -np.sign(np.take_along_axis(d, axis[..., None], -1)), -1)
    return t, n


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_room_depth_and_normals_match_planes(seed):
    r = cached_render("room", seed)
    t, n = _room_plane_truth(r.scene, r.camera, r.width, r.height)
    stuff = r.instance_ids == 0
    assert stuff.mean() > 0.4
    np.testing.assert_allclose(r.depth[stuff], t[stuff], rtol=2e-6)
    np.testing.assert_array_equal(r.normals[stuff], n[stuff])
    cls = r.class_ids
    assert (n[cls == CLASS_IDS["floor"]] == [0, 1, 0]).all()
    assert (n[cls == CLASS_IDS["ceiling"]] == [0, -1, 0]).all()
    assert (np.abs(n[cls == CLASS_IDS["wall"]][:, 1]) == 0).all()
    assert {CLASS_IDS[c] for c in ("floor", "wall", "ceiling")} <= set(
        np.unique(cls[stuff]).tolist()
    )


def test_street_ground_depth_and_sky():
    r = cached_render("street", 0)
    road = (r.class_ids == CLASS_IDS["road"]) & (r.instance_ids == 0)
    d = pixel_directions(r.width, r.height)
    np.testing.assert_allclose(r.depth[road], r.camera.position[1] / -d[road][:, 1], rtol=2e-6)
    assert (r.normals[road] == [0, 1, 0]).all()
    sky = r.class_ids == CLASS_IDS["sky"]
    assert sky.any() and np.array_equal(sky, r.sky_mask)
    assert np.isinf(r.depth[sky]).all() and (r.normals[sky] == 0).all()


@pytest.mark.parametrize("kind", ["street", "room"])
def test_without_rig_the_ground_under_the_camera_is_seen(kind):
    """The tripod (and the room's cameraman) are marked as the camera's rig; without them the
    nadir sees the floor or the road, and everything else renders as before."""
    scene = make_scene(kind, 3)
    rig = [b for b in scene.boxes if b.rig]
    assert {b.cls for b in rig} == ({"pole", "person"} if kind == "room" else {"pole"})
    bare = scene.without_rig()
    assert [b.id for b in bare.boxes] == [b.id for b in scene.boxes if not b.rig]
    with_rig, without = render_scene(scene, width=256), render_scene(bare, width=256)
    rig_ids = {b.id for b in rig}
    under = np.isin(with_rig.instance_ids, list(rig_ids))
    assert under[-1].all()  # the rig hides the whole nadir row
    assert not np.isin(without.instance_ids, list(rig_ids)).any()
    ground = {CLASS_IDS["floor" if kind == "room" else "road"]}
    assert set(np.unique(without.class_ids[-1])) <= ground
    # away from the rig (and its shadow, which only falls near it) nothing changes
    far = ~cv2.dilate(under.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
    far[int(0.75 * far.shape[0]) :] = False
    assert np.array_equal(with_rig.rgb[far], without.rgb[far])


@pytest.mark.parametrize(("kind", "seed"), CASES)
def test_normals_unit_and_maps_consistent(kind, seed):
    r = cached_render(kind, seed)
    hit = ~r.sky_mask
    np.testing.assert_allclose(np.linalg.norm(r.normals[hit], axis=-1), 1.0, atol=1e-6)
    assert r.rgb.dtype == np.uint8 and r.radiance.dtype == np.float32
    assert r.depth.dtype == np.float32 and r.normals.dtype == np.float32
    assert r.instance_ids.dtype == np.int32 and r.class_ids.dtype == np.uint8
    assert (r.depth[hit] > 0).all()
    assert 0 not in np.unique(r.class_ids)
    for ann in r.annotations:
        mask = r.instance_ids == ann["id"]
        if mask.any():
            assert (r.class_ids[mask] == CLASS_IDS[ann["class"]]).all()


def test_deterministic_and_seed_dependent():
    a = render("street", 5, 256)
    b = render("street", 5, 256)
    c = render("street", 6, 256)
    for name in ("rgb", "radiance", "depth", "normals", "instance_ids", "class_ids"):
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes(), name
    assert json.dumps(a.annotations) == json.dumps(b.annotations)
    assert json.dumps(a.scene.to_dict()) == json.dumps(b.scene.to_dict())
    assert a.rgb.tobytes() != c.rgb.tobytes()
    assert a.scene.to_dict() != c.scene.to_dict()
    r1, r2 = render("room", 5, 256), render("room", 5, 256)
    assert r1.radiance.tobytes() == r2.radiance.tobytes()
    assert r1.rgb.tobytes() != render("room", 6, 256).rgb.tobytes()


@pytest.mark.parametrize("kind", ["room", "street"])
def test_hdr_radiance(kind):
    r = cached_render(kind, 0)
    assert r.radiance.max() > 1.0
    assert (r.radiance > 1.0).any(axis=-1).sum() >= 5
    bright = (r.radiance >= 1.0).all(axis=-1)
    assert (r.rgb[bright] == 255).all()
    assert (r.radiance >= 0).all() and np.isfinite(r.radiance).all()


def test_sun_disc_is_hdr_when_visible():
    r = render("street", 3, 256)  # a seed whose sun is not hidden by a building
    assert (r.radiance > 40).any()


def test_camera_rotation_convention():
    fwd = np.array([0.0, 0.0, 1.0])
    np.testing.assert_allclose(Camera(yaw=90).rotation() @ fwd, [1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(Camera(pitch=90).rotation() @ fwd, [0, 1, 0], atol=1e-12)


@pytest.mark.parametrize("kind", ["room", "street"])
def test_sequence_rotation_only_frame_is_rotated_base(kind):
    width, height = 512, 256
    scene = make_scene(kind, 4)
    base_cam = scene.camera
    k = 37  # yaw by exactly 37 pixel columns: frame = base rolled by 37 columns
    cams = [
        base_cam,
        Camera(base_cam.position, yaw=360.0 * k / width),
        Camera(base_cam.position, yaw=23.0, pitch=11.0, roll=-7.0),
    ]
    base, rolled, general = render_sequence(kind, 4, width, poses=cams)
    assert rolled.camera == cams[1] and general.camera == cams[2]
    diff = rolled.instance_ids != np.roll(base.instance_ids, -k, axis=1)
    print(f"{kind}: column-shift rotation mismatches: {int(diff.sum())}")
    assert diff.sum() <= 3
    # General rotation: spot-check pixel directions away from instance edges.
    rng = np.random.default_rng(0)
    d_cam = pixel_directions(width, height)
    checked = 0
    for _ in range(400):
        j, i = int(rng.integers(height)), int(rng.integers(width))
        w = general.camera.rotation() @ d_cam[j, i]
        lon, lat = math.degrees(math.atan2(w[0], w[2])), math.degrees(math.asin(w[1]))
        bi = int((lon + 180.0) / 360.0 * width) % width
        bj = min(height - 1, int((90.0 - lat) / 180.0 * height))
        nb = base.instance_ids[max(0, bj - 1) : bj + 2, [(bi - 1) % width, bi, (bi + 1) % width]]
        if (nb == nb.flat[0]).all():
            assert general.instance_ids[j, i] == base.instance_ids[bj, bi]
            checked += 1
    assert checked > 250


def test_sequence_poses_translate_and_rotate():
    frames = render_sequence("street", 2, 128, n_frames=4)
    assert len(frames) == 4
    p0 = np.asarray(frames[0].camera.position)
    for f in frames[1:]:
        shift = np.asarray(f.camera.position) - p0
        assert 0 < np.abs(shift).max() <= 0.1 + 1e-12
        assert f.camera.yaw != frames[0].camera.yaw
        assert f.scene is frames[0].scene


def test_scene_json_round_trip():
    for kind in ("room", "street"):
        s = make_scene(kind, 7)
        d = json.loads(json.dumps(s.to_dict()))
        assert Scene.from_dict(d).to_dict() == s.to_dict()
        classes = {o["class"] for o in d["objects"]}
        assert classes <= set(CLASSES)
    assert CLASSES[1:] == (
        "building",
        "car",
        "person",
        "road",
        "sky",
        "tree",
        "pole",
        "furniture",
        "wall",
        "floor",
        "ceiling",
    )
    street = {o["class"] for o in make_scene("street", 7).to_dict()["objects"]}
    assert {"building", "car", "pole", "tree", "person"} <= street
    room = {o["class"] for o in make_scene("room", 7).to_dict()["objects"]}
    assert {"furniture", "person", "pole"} <= room


def test_write_formats(tmp_path):
    import cv2

    r = render("street", 1, 256)
    paths = write(r, tmp_path / "f")
    rgb = cv2.imread(str(paths["rgb"]), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert np.array_equal(rgb, r.rgb)
    inst = cv2.imread(str(paths["instances"]), cv2.IMREAD_UNCHANGED)
    assert inst.dtype == np.uint16 and np.array_equal(inst, r.instance_ids)
    cls = cv2.imread(str(paths["classes"]), cv2.IMREAD_UNCHANGED)
    assert cls.dtype == np.uint8 and np.array_equal(cls, r.class_ids)
    assert np.array_equal(np.load(paths["depth"]), r.depth, equal_nan=False)
    assert np.array_equal(np.load(paths["normals"]), r.normals)
    from label360.exr import read_exr

    assert paths["radiance"].suffix == ".exr"
    np.testing.assert_array_equal(read_exr(paths["radiance"].read_bytes()), r.radiance)
    ann = json.loads(paths["annotations"].read_text())
    assert ann["width"] == 256 and ann["height"] == 128 and ann["classes"] == list(CLASSES)
    assert ann["instances"] == json.loads(json.dumps(r.annotations))
    assert ann["files"]["radiance"] == paths["radiance"].name
    sc = json.loads(paths["scene"].read_text())
    assert Scene.from_dict(sc["scene"]).to_dict() == r.scene.to_dict()
    assert Camera.from_dict(sc["camera"]) == r.camera


def test_cli(tmp_path, capsys):
    assert (
        cli_main(["--kind", "room", "--seed", "3", "--width", "128", "--out", str(tmp_path / "o")])
        == 0
    )
    assert (tmp_path / "o" / "annotations.json").exists()
    assert (
        cli_main(
            [
                "--kind",
                "street",
                "--seed",
                "3",
                "--width",
                "64",
                "--frames",
                "2",
                "--out",
                str(tmp_path / "s"),
            ]
        )
        == 0
    )
    assert (tmp_path / "s" / "poses.json").exists() and (
        tmp_path / "s" / "frame_0001" / "rgb.png"
    ).exists()
