"""The detector job kinds end to end: suggestions of the project's classes (accepted and
rejected like the others) and the privacy blur's anonymised asset."""

from __future__ import annotations

import io
import json
import zipfile

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from annotations.imageformats import decode, read_header
from annotations.models import Instance, LabelClass
from annotations.uploads import store_panorama
from inference.detectors.jobs import (
    ANONYMISED,
    export_asset,
    validate_blur_params,
    validate_detect_params,
)
from inference.detectors.placement import box_geometry, paste, patch_view
from inference.detectors.store import save_mapping
from inference.models import DerivedAsset, Job, JobStatus
from inference.registry import ParamsError
from inference.runner import execute
from inference.services import submit_job
from label360.sphere import iou, rasterize

from .conftest import FACE_BOX, load_panorama


def _png(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def street(project, portrait, page):
    """A real panorama (1024 px) with a face near the zenith and a word across the seam."""
    pano = load_panorama("pedestrian_overpass", 1024)
    face_view = patch_view(portrait.shape, 30.0, 62.0, 14.0 * portrait.shape[0] / 110.0)
    paste(pano, portrait, face_view)
    x0, y0, x1, y1 = 151, 12, 292, 30  # "segmentation"
    crop = np.ascontiguousarray(page[y0 - 10 : y1 + 10, x0 - 10 : x1 + 10])
    crop[:, :8] = crop[:, -8:] = np.median(crop[:4], axis=(0, 1)).astype(np.uint8)
    word_view = patch_view(crop.shape, 179.5, 20.0, 40.0)
    paste(pano, crop, word_view)
    for name in ("face", "sign", "person"):
        LabelClass.objects.create(project=project, name=name, color="#00ff00")
    stored = store_panorama(project, "street.png", _png(pano))
    return {
        "panorama": stored,
        "pixels": pano,
        "face": box_geometry(face_view, FACE_BOX),
        "word": box_geometry(word_view, (9.5, 9.5, 150.5, 27.5)),
    }


def _run(kind, users, project, panoramas, params):
    job = submit_job(kind, users["manager"], project, panoramas, params)
    status = execute(job.pk)
    job = Job.objects.get(pk=job.pk)
    assert status == JobStatus.SUCCEEDED, job.error
    return job


@pytest.mark.django_db
def test_detect_job_stores_scored_suggestions_with_the_text(users, project, street, client):
    pano = street["panorama"]
    other = LabelClass.objects.get(project=project, name="car")
    kept = Instance.objects.create(
        panorama=pano,
        label_class=other,
        geometry=street["face"],
        source="model",
        is_suggestion=True,
        score=0.4,
        model_version="prelabel model v1",
    )
    save_mapping(project, {"face": "face", "text": "sign"})
    job = _run("detect", users, project, [pano], {})
    result = job.result["panoramas"][0]
    assert result["by_output"] == {"face": 1, "text": 1, "plate": 0}, result
    assert job.progress == 1.0
    rows = {i.label_class.name: i for i in Instance.objects.filter(panorama=pano, source="model")}
    assert iou(rows["face"].geometry, street["face"]) >= 0.5
    assert iou(rows["sign"].geometry, street["word"]) >= 0.5
    assert rows["sign"].attributes["text"] == "segmentation"
    assert rows["sign"].attributes["text_score"] > 0.8
    assert len(rows["face"].attributes["landmarks"]) == 5
    assert all(rows[n].is_suggestion and rows[n].score >= 0.5 for n in ("face", "sign"))
    assert rows["car"].pk == kept.pk  # pre-labelling suggestions are not the detectors'

    # accepted like any suggestion, through the pre-labelling endpoint
    pano.assignees.add(users["annotator"])
    client.force_login(users["annotator"])
    pano.refresh_from_db()
    answer = client.post(
        "/api/prelabel/suggestions/accept/",
        {"panorama": pano.pk, "revision": pano.revision, "ids": [rows["sign"].pk]},
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content
    # re-running replaces only the unaccepted detector suggestions
    _run("detect", users, project, [pano], {"detectors": ["face"], "classes": {"face": "face"}})
    left = Instance.objects.filter(panorama=pano)
    assert left.filter(pk=rows["sign"].pk, is_suggestion=False).exists()
    assert left.filter(pk=kept.pk).exists()
    assert not left.filter(pk=rows["face"].pk).exists()
    assert left.filter(label_class__name="face", is_suggestion=True).count() == 1


@pytest.mark.django_db
def test_detect_job_without_a_mapping_fails_clearly(users, project, street):
    job = submit_job("detect", users["manager"], project, [street["panorama"]], {})
    assert execute(job.pk) == JobStatus.FAILED
    assert "maps no detector output" in Job.objects.get(pk=job.pk).error


@pytest.mark.django_db
def test_privacy_blur_blurs_faces_and_named_classes_and_nothing_else(
    users, project, street, tmp_path
):
    pano = street["panorama"]
    person = LabelClass.objects.get(project=project, name="person")
    polygon = [[[[-60.0, -70.0], [-20.0, -70.0], [-20.0, -50.0], [-60.0, -50.0]]]]
    Instance.objects.create(panorama=pano, label_class=person, geometry=polygon)
    params = {"faces": True, "plates": True, "classes": ["person"], "use_for_export": True}
    job = _run("privacy_blur", users, project, [pano], params)
    asset = DerivedAsset.objects.get(panorama=pano, kind=ANONYMISED)
    assert asset.params["counts"] == {"faces": 1, "plates": 0, "text": 0, "classes": 1}
    assert job.result["panoramas"][str(pano.pk)]["asset"] == asset.pk
    with asset.file.open("rb") as handle:
        data = handle.read()
    out = decode(data, read_header(data))
    original = street["pixels"]
    assert asset.file.name.endswith(".png") and out.shape == original.shape

    regions = asset.params["detected_regions"] + [polygon]
    inside = np.zeros(original.shape[:2], bool)
    for g in regions:
        inside |= rasterize(g, original.shape[1], original.shape[0])
    assert np.array_equal(out[~inside], original[~inside])  # bit-identical outside
    face = rasterize(street["face"], original.shape[1], original.shape[0])
    assert (face & ~inside).sum() == 0  # the whole face was blurred
    detail = lambda img: cv2.Laplacian(img[..., 1].astype(np.float32), cv2.CV_32F)[face].std()  # noqa: E731
    assert detail(out) < 0.25 * detail(original)
    person_px = rasterize(polygon, original.shape[1], original.shape[0])
    assert np.abs(out[person_px].astype(int) - original[person_px]).mean() > 1.0
    assert export_asset(pano) == asset

    # the dataset export ships the anonymised image in place of the original
    from datasets.exporters.run import write_export
    from datasets.selection import ExportOptions

    path = tmp_path / "export.zip"
    write_export(project, ExportOptions.from_dict({"format": "coco", "include_images": True}), path)
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if n.startswith("images/")]
        assert names == [f"images/{pano.pk:06d}_street.png"]
        assert archive.read(names[0]) == data
        listed = json.loads(archive.read("annotations/instances.json"))["images"]
        assert listed[0]["file_name"] == names[0]


@pytest.mark.django_db
def test_privacy_blur_of_radiance_keeps_every_other_pixel_exact(users, project):
    from inference.detectors.blur import blur_regions

    hdr_path = (
        load_panorama.__globals__["settings"].BASE_DIR / "data/polyhaven/venice_sunset_1k.hdr"
    )
    data = hdr_path.read_bytes()
    pano = store_panorama(project, "venice.hdr", data)
    LabelClass.objects.create(project=project, name="person", color="#00ff00")
    polygon = [[[[170.0, 60.0], [-170.0, 60.0], [-170.0, 80.0], [170.0, 80.0]]]]
    Instance.objects.create(
        panorama=pano,
        label_class=LabelClass.objects.get(project=project, name="person"),
        geometry=polygon,
    )
    _run(
        "privacy_blur",
        users,
        project,
        [pano],
        {"faces": False, "plates": False, "classes": ["person"]},
    )
    asset = DerivedAsset.objects.get(panorama=pano, kind=ANONYMISED)
    with asset.file.open("rb") as handle:
        out_bytes = handle.read()
    original = decode(data, read_header(data))
    out = decode(out_bytes, read_header(out_bytes))
    assert asset.file.name.endswith(".hdr") and out.dtype == np.float32
    inside = rasterize(polygon, original.shape[1], original.shape[0])
    assert np.array_equal(out[~inside], original[~inside])
    assert not np.array_equal(out[inside], original[inside])
    assert export_asset(pano) is None  # not asked for
    # inside: the blur of the radiance, stored with RGBE's 8-bit mantissas
    expected, _n = blur_regions(original, [polygon])
    scale = expected[inside].max(axis=1, keepdims=True)
    assert np.all(np.abs(out[inside] - expected[inside]) <= scale / 64 + 1e-6)


@pytest.mark.django_db
def test_blur_params_must_name_something_and_classes_must_exist(users, project, street):
    with pytest.raises(ParamsError, match="nothing to blur"):
        validate_blur_params({"faces": False, "plates": False})
    job = submit_job(
        "privacy_blur",
        users["manager"],
        project,
        [street["panorama"]],
        {"faces": False, "plates": False, "classes": ["unicorn"]},
    )
    assert execute(job.pk) == JobStatus.FAILED
    assert "no classes named ['unicorn']" in Job.objects.get(pk=job.pk).error
    assert not DerivedAsset.objects.filter(kind=ANONYMISED).exists()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=20,
)
param_keys = st.sampled_from(
    [
        "detectors",
        "classes",
        "min_score",
        "max_width",
        "fine",
        "faces",
        "plates",
        "all_text",
        "include_suggestions",
        "margin",
        "strength",
        "use_for_export",
        "other",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(param_keys, json_values, max_size=6))
def test_params_validation_fuzz(params):
    """Any JSON body gives cleaned params or a ParamsError — nothing else."""
    for validate in (validate_detect_params, validate_blur_params):
        try:
            clean = validate(dict(params))
        except ParamsError as exc:
            assert str(exc)
        else:
            assert set(clean) <= set(params) | {
                "detectors",
                "min_score",
                "max_width",
                "fine",
                "faces",
                "plates",
                "all_text",
                "include_suggestions",
                "use_for_export",
                "classes",
                "margin",
                "strength",
            }


@pytest.mark.django_db
def test_admin_actions_on_panoramas_and_projects(users, project, client):
    pano = store_panorama(project, "p.png", _png(load_panorama("spruit_sunrise", 256)))
    client.force_login(users["admin"])
    url = "/admin/annotations/panorama/"
    page = client.post(url, {"action": "run_job_privacy_blur", "_selected_action": [pano.pk]})
    assert page.status_code == 200 and b"Queue jobs" in page.content
    done = client.post(
        url,
        {
            "action": "run_job_privacy_blur",
            "_selected_action": [pano.pk],
            "apply": "1",
            "faces": "on",
            "classes": "car, building",
            "strength": "1.5",
            "use_for_export": "on",
        },
        follow=True,
    )
    assert done.status_code == 200
    job = Job.objects.get(kind="privacy_blur")
    assert list(job.panoramas.all()) == [pano]
    assert job.params["classes"] == ["building", "car"] and job.params["use_for_export"] is True
    for kind in ("run_job_detect", "run_job_privacy_blur"):
        project_page = client.post(
            "/admin/annotations/project/", {"action": kind, "_selected_action": [project.pk]}
        )
        assert b"Queue jobs" in project_page.content, kind
