"""The "cameraman" job kind end to end: assets, clear errors, params, admin action, model."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inference.cameraman.job import DEFAULTS, validate_cameraman_params
from inference.registry import ParamsError
from tests.cameraman.test_remove import scene


def png_bytes(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    assert ok
    return data.tobytes()


def upload(project, image: np.ndarray, name: str = "pano.png"):
    from annotations.uploads import store_panorama

    return store_panorama(project, name, png_bytes(image))


def run(job) -> str:
    from inference.runner import execute

    return execute(job.pk)


def asset_pixels(panorama, kind: str) -> np.ndarray:
    from inference.models import DerivedAsset

    with DerivedAsset.objects.get(panorama=panorama, kind=kind).file.open("rb") as handle:
        data = np.frombuffer(handle.read(), np.uint8)
    return cv2.imdecode(data, cv2.IMREAD_UNCHANGED)


@pytest.mark.django_db
def test_cap_job_stores_cleaned_mask_and_preview(users, project):
    from inference.models import Job, JobStatus
    from inference.services import submit_job

    image = scene()
    pano = upload(project, image)
    job = submit_job("cameraman", users["manager"], project, [pano], {"cap_deg": 25})
    assert run(job) == JobStatus.SUCCEEDED, Job.objects.get(pk=job.pk).error
    job.refresh_from_db()
    cleaned = cv2.cvtColor(asset_pixels(pano, "cleaned"), cv2.COLOR_BGR2RGB)
    mask = asset_pixels(pano, "cleaned_mask") > 0
    preview = asset_pixels(pano, "cleaned_preview")
    assert cleaned.shape == image.shape and mask.shape == image.shape[:2]
    assert np.array_equal(cleaned[~mask], image[~mask])  # bit-identical through the file
    assert mask.sum() > 0 and not np.array_equal(cleaned[mask], image[mask])
    assert preview.shape[0] > 100 and preview.shape[1] > 2 * preview.shape[0] - 20
    assert set(job.result["panoramas"][str(pano.pk)]["assets"]) == {
        "cleaned",
        "cleaned_mask",
        "cleaned_preview",
    }


@pytest.mark.django_db
def test_class_mask_removes_exactly_the_polygons(users, project):
    from annotations.models import Instance, LabelClass
    from inference.models import Job, JobStatus
    from inference.services import submit_job
    from label360.sphere.raster import rasterize

    image = scene(seed=4)
    pano = upload(project, image)
    ignore = LabelClass.objects.create(project=project, name="cameraman", is_ignore=True)
    geometry = [[[[-30.0, -50.0], [30.0, -50.0], [30.0, -30.0], [-30.0, -30.0]]]]
    Instance.objects.create(panorama=pano, label_class=ignore, geometry=geometry)
    params = {"mask": "class", "label_class": ignore.pk, "grow_px": 0}
    job = submit_job("cameraman", users["manager"], project, [pano], params)
    assert run(job) == JobStatus.SUCCEEDED, Job.objects.get(pk=job.pk).error
    mask = asset_pixels(pano, "cleaned_mask") > 0
    assert np.array_equal(mask, rasterize(geometry, 256, 128))


@pytest.mark.django_db
def test_class_without_polygons_fails_clearly(users, project):
    from annotations.models import LabelClass
    from inference.models import DerivedAsset, Job, JobStatus
    from inference.services import submit_job

    pano = upload(project, scene())
    empty = LabelClass.objects.create(project=project, name="tripod")
    job = submit_job("cameraman", users["manager"], project, [pano],
                     {"mask": "class", "label_class": empty.pk})  # fmt: skip
    assert run(job) == JobStatus.FAILED
    error = Job.objects.get(pk=job.pk).error
    assert "no polygons of class 'tripod'" in error and str(pano.pk) in error
    assert not DerivedAsset.objects.filter(panorama=pano, kind__startswith="cleaned").exists()


@pytest.mark.django_db
def test_class_of_another_project_and_missing_model_fail_clearly(users, project, foreign_project):
    from annotations.models import LabelClass
    from inference.models import Job, JobStatus
    from inference.services import submit_job

    pano = upload(project, scene())
    foreign = LabelClass.objects.create(project=foreign_project, name="ignore")
    job = submit_job("cameraman", users["manager"], project, [pano],
                     {"mask": "class", "label_class": foreign.pk})  # fmt: skip
    assert run(job) == JobStatus.FAILED
    assert "another project" in Job.objects.get(pk=job.pk).error
    job = submit_job("cameraman", users["manager"], project, [pano],
                     {"method": "model", "weights": 99999})  # fmt: skip
    assert run(job) == JobStatus.FAILED
    assert "model weights 99999 not found" in Job.objects.get(pk=job.pk).error


def test_params_are_validated():
    assert validate_cameraman_params({}) == {**DEFAULTS, "cap_deg": 30.0, "margin_deg": 20.0}
    for bad, message in [
        ({"mask": "blob"}, "mask must be"),
        ({"mask": "class"}, "label_class"),
        ({"cap_deg": 95}, "cap_deg"),
        ({"cap_deg": True}, "cap_deg"),
        ({"patch": 8}, "odd"),
        ({"method": "model"}, "weights"),
        ({"grow_px": -1}, "grow_px"),
        ({"colour": 1}, "unknown"),
    ]:
        with pytest.raises(ParamsError, match=message):
            validate_cameraman_params(bad)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(sorted(DEFAULTS) + ["extra"]),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(-(2**40), 2**40),
            st.floats(allow_nan=True),
            st.text(max_size=8),
        ),  # fmt: skip
        max_size=6,
    )
)
def test_params_fuzz_only_clean_or_params_error(params):
    try:
        out = validate_cameraman_params(params)
    except ParamsError:
        return
    assert out["mask"] in ("cap", "class") and 1 <= out["cap_deg"] <= 80
    assert out["patch"] % 2 == 1 and 0 <= out["grow_px"] <= 64


@pytest.mark.django_db
def test_uploaded_torchscript_inpainting_model_is_used(users, project):
    import torch
    from django.core.files.base import ContentFile

    from inference.models import Job, JobStatus, ModelWeights
    from inference.services import submit_job

    class MeanFill(torch.nn.Module):
        """A stand-in network: fills the hole with the mean of the known pixels."""

        def forward(self, image, mask):
            known = 1 - mask
            total = (image * known).sum(dim=(2, 3), keepdim=True)
            mean = total / known.sum(dim=(2, 3), keepdim=True)
            return image * known + mean * mask

    buffer = io.BytesIO()
    traced = torch.jit.trace(MeanFill(), (torch.rand(1, 3, 8, 8), torch.zeros(1, 1, 8, 8)))
    torch.jit.save(traced, buffer)
    weights = ModelWeights(name="mean fill", task="inpainting", input_size=64)
    weights.file.save("mean.pt", ContentFile(buffer.getvalue()), save=False)
    weights.save()
    image = scene(seed=7)
    pano = upload(project, image)
    job = submit_job("cameraman", users["manager"], project, [pano],
                     {"method": "model", "weights": weights.pk, "cap_deg": 20})  # fmt: skip
    assert run(job) == JobStatus.SUCCEEDED, Job.objects.get(pk=job.pk).error
    cleaned = cv2.cvtColor(asset_pixels(pano, "cleaned"), cv2.COLOR_BGR2RGB)
    mask = asset_pixels(pano, "cleaned_mask") > 0
    assert np.array_equal(cleaned[~mask], image[~mask])
    # a mean fill (plus a smooth border correction) has little texture left
    assert (
        cleaned[mask].astype(float).std(axis=0).mean()
        < image[~mask].astype(float).std(axis=0).mean()
    )


@pytest.mark.django_db
def test_admin_action_shows_the_form_and_submits(users, project, client):
    from annotations.models import Panorama
    from inference.models import Job

    pano = upload(project, scene())
    admin = users.get("admin")
    if admin is None:
        from tests.factories import make_user

        admin = make_user("root-cam", staff=True)
    client.force_login(admin)
    url = "/admin/annotations/panorama/"
    base = {"action": "run_job_cameraman", "_selected_action": [str(pano.pk)]}
    page = client.post(url, base)
    assert page.status_code == 200 and b"Remove cameraman" in page.content
    assert b"cap_deg" in page.content
    bad = client.post(url, {**base, "apply": "1", "mask": "class", "cap_deg": "30",
                            "grow_px": "4", "method": "patch"})  # fmt: skip
    assert b"Pick the class" in bad.content and not Job.objects.filter(kind="cameraman").exists()
    client.post(url, {**base, "apply": "1", "mask": "cap", "cap_deg": "30", "grow_px": "4",
                      "method": "patch"})  # fmt: skip
    job = Job.objects.get(kind="cameraman")
    assert list(job.panoramas.all()) == [Panorama.objects.get(pk=pano.pk)]
    assert job.params["cap_deg"] == 30.0 and job.params["mask"] == "cap"


@pytest.mark.django_db
def test_annotators_see_the_cleaned_panorama_its_mask_and_preview(users, project, client_for):
    """What the workspace's Image selector reads: the job's real output is offered as a whole
    panorama under the labels, with its display image; mask and preview as pictures."""
    from inference.models import JobStatus
    from inference.services import submit_job

    image = scene(seed=5)
    pano = upload(project, image)
    pano.assignees.add(users["annotator"])
    job = submit_job("cameraman", users["manager"], project, [pano], {"cap_deg": 25})
    assert run(job) == JobStatus.SUCCEEDED
    client = client_for(users["annotator"])
    items = {i["kind"]: i for i in client.get(f"/api/assets/images/?panorama={pano.pk}").json()}
    cleaned = items["cleaned"]
    assert cleaned["role"] == "panorama" and cleaned["label"] == "Cameraman removed"
    assert (cleaned["width"], cleaned["height"]) == (image.shape[1], image.shape[0])
    assert items["cleaned_mask"]["role"] == "mask"
    assert items["cleaned_preview"]["role"] == "preview"
    shown = client.get(cleaned["display_url"], {"width": 256})
    assert shown.status_code == 200 and shown["Content-Type"] == "image/jpeg"
    data = b"".join(shown.streaming_content) if shown.streaming else shown.content
    display = cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR),
                           cv2.COLOR_BGR2RGB)  # fmt: skip
    mask = asset_pixels(pano, "cleaned_mask") > 0
    cleaned_pixels = cv2.cvtColor(asset_pixels(pano, "cleaned"), cv2.COLOR_BGR2RGB)
    # the display is the cleaned panorama (JPEG), not the original, inside the mask
    err_cleaned = np.abs(display[mask].astype(float) - cleaned_pixels[mask]).mean()
    err_original = np.abs(display[mask].astype(float) - image[mask]).mean()
    assert err_cleaned < err_original
