"""The "reexpose" job kind end to end: params, assets, pass-through of HDR, clear failures."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from inference.reexpose.job import ReexposeParamsForm, ev_kind, validate_reexpose_params
from inference.reexpose.outputs import response_plot_png
from inference.reexpose.response import Response
from inference.registry import ParamsError
from label360.exr import read_exr, write_exr

from .helpers import sky_panorama, to_ldr


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _run(users, project, name: str, data: bytes, params: dict | None = None):
    from annotations.uploads import store_panorama
    from inference.models import Job
    from inference.runner import execute
    from inference.services import submit_job

    pano = store_panorama(project, name, data)
    job = submit_job("reexpose", users["manager"], project, [pano], params or {})
    state = execute(job.pk)
    return pano, Job.objects.get(pk=job.pk), state


def test_params_defaults_and_errors():
    p = validate_reexpose_params({})
    assert p["response"] == "estimate" and p["ev_steps"] == [-4.0, -2.0, 0.0, 2.0]
    assert validate_reexpose_params({"ev_steps": "2, -1.3, 2"})["ev_steps"] == [-1.5, 2.0]
    for bad in (
        {"response": "log"},
        {"ev_steps": []},
        {"ev_steps": [9]},
        {"ev_steps": list(range(10))},
        {"gamma": "x"},
        {"max_width": 10},
        {"whatever": 1},
        {"max_boost_ev": float("nan")},
    ):
        with pytest.raises(ParamsError):
            validate_reexpose_params(bad)


def test_admin_form_gives_valid_params():
    form = ReexposeParamsForm(
        {
            "response": "gamma",
            "gamma": "2.0",
            "scene": "outdoor",
            "ev_steps": "-3, 0",
            "max_boost_ev": "3",
            "max_width": "1024",
        }
    )
    assert form.is_valid(), form.errors
    params = validate_reexpose_params(form.to_params())
    assert (
        params["response"] == "gamma"
        and params["gamma"] == 2.0
        and params["ev_steps"] == [-3.0, 0.0]
    )


def test_ev_kinds_fit_the_asset_kind_column():
    assert ev_kind(-2) == "hdr_ev_m2_preview" and ev_kind(0.5) == "hdr_ev_p0_5_preview"
    assert max(len(ev_kind(e / 2)) for e in range(-16, 17)) <= 32


def assert_curve_drawn(chart: np.ndarray, response: Response) -> None:
    """The chart's black curve passes where code v maps to response.inverse(v): plot area
    x = 56 + 408 v, y = 30 + 286 (1 − linear)."""
    black = (chart == 0).all(axis=2)
    for v in (0.3, 0.5, 0.7, 0.9):
        x = int(round(56 + 408 * v))
        expected = 30 + 286 * (1 - float(response.inverse(np.float32(v))))
        rows = np.nonzero(black[75:316, x])[0] + 75  # below the legend, inside the plot
        assert rows.size and abs(rows.mean() - expected) < 3, (v, rows, expected)


def test_response_chart_draws_the_curve():
    for response in (Response("srgb"), Response("shoulder", 1.8, 1.0), Response("gamma", 2.6)):
        chart = np.asarray(Image.open(io.BytesIO(response_plot_png(response))).convert("RGB"))
        assert_curve_drawn(chart, response)


@pytest.mark.django_db
def test_admin_action_recover_hdr_shows_the_form_and_submits(users, project, client):
    from annotations.uploads import store_panorama
    from inference.models import Job

    radiance, _ = sky_panorama(128)
    pano = store_panorama(project, "ldr.png", _png(to_ldr(radiance, 0.4)))
    client.force_login(users["admin"])
    url = "/admin/annotations/panorama/"
    base = {"action": "run_job_reexpose", "_selected_action": [str(pano.pk)]}
    page = client.post(url, base)
    assert page.status_code == 200 and b"Recover HDR / re-expose" in page.content
    assert b"ev_steps" in page.content and b"max_boost_ev" in page.content
    form = {"response": "gamma", "gamma": "2.0", "scene": "auto", "ev_steps": "-3, 0, 1.5",
            "max_boost_ev": "3", "max_width": "2048"}  # fmt: skip
    bad = client.post(url, {**base, "apply": "1", **form, "gamma": "9"})
    assert bad.status_code == 200 and not Job.objects.filter(kind="reexpose").exists()
    client.post(url, {**base, "apply": "1", **form})
    job = Job.objects.get(kind="reexpose")
    assert [p.pk for p in job.panoramas.all()] == [pano.pk]
    assert job.params["response"] == "gamma" and job.params["ev_steps"] == [-3.0, 0.0, 1.5]


@pytest.mark.django_db
def test_job_stores_radiance_previews_plot_and_mask(users, project):
    from inference.models import DerivedAsset, JobStatus

    radiance, _ = sky_panorama(256)
    ldr = to_ldr(radiance, 0.4)
    pano, job, state = _run(
        users, project, "sunny.png", _png(ldr), {"response": "srgb", "ev_steps": [-2, 0]}
    )
    assert state == JobStatus.SUCCEEDED, job.error
    kinds = set(DerivedAsset.objects.filter(panorama=pano).values_list("kind", flat=True))
    assert {"hdr_radiance", "hdr_ev_m2_preview", "hdr_ev_p0_preview", "hdr_response"} <= kinds
    assert "hdr_clipped_mask" in kinds
    with DerivedAsset.objects.get(panorama=pano, kind="hdr_radiance").file.open("rb") as f:
        exr = read_exr(f.read())
    assert exr.shape == (128, 256, 3) and exr.dtype == np.float32
    assert exr.max() > 1.0  # the clipped sun came back above the clip level
    with DerivedAsset.objects.get(panorama=pano, kind="hdr_ev_m2_preview").file.open("rb") as f:
        darker = np.asarray(Image.open(f).convert("RGB"))
    assert darker.shape == (128, 256, 3) and (darker == 255).mean() < 0.001
    with DerivedAsset.objects.get(panorama=pano, kind="hdr_response").file.open("rb") as f:
        chart = Image.open(f)
        assert chart.format == "PNG" and chart.size == (480, 360)
        assert_curve_drawn(np.asarray(chart.convert("RGB")), Response("srgb"))
    result = job.result["panoramas"][str(pano.pk)]
    assert result["response_curve"] == "sRGB (given)" and result["note"] == ""
    assert "sun_lon" in result


@pytest.mark.django_db
def test_already_hdr_panorama_is_passed_through_with_a_clear_note(users, project):
    from inference.models import DerivedAsset, JobStatus

    radiance, _ = sky_panorama(128)
    pano, job, state = _run(users, project, "stored.exr", write_exr(radiance))
    assert state == JobStatus.SUCCEEDED, job.error
    note = job.result["panoramas"][str(pano.pk)]["note"]
    assert "already HDR" in note and "without recovery" in note
    with DerivedAsset.objects.get(panorama=pano, kind="hdr_radiance").file.open("rb") as f:
        assert np.array_equal(read_exr(f.read()), radiance)


@pytest.mark.django_db
@pytest.mark.parametrize(("value", "word"), [(0, "black"), (255, "white")])
def test_black_or_white_panorama_fails_the_job_clearly(users, project, value, word):
    from inference.models import DerivedAsset, JobStatus

    pano, job, state = _run(
        users, project, f"flat{value}.png", _png(np.full((64, 128, 3), value, np.uint8))
    )
    assert state == JobStatus.FAILED
    assert word in job.error and f"panorama {pano.pk}" in job.error
    assert not DerivedAsset.objects.filter(panorama=pano).exclude(kind="thumbnail").exists()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(
            ["response", "gamma", "scene", "ev_steps", "max_boost_ev", "max_width", "x"]
        ),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(-(10**6), 10**6),
            st.floats(allow_nan=True, allow_infinity=True),
            st.text(max_size=30),
            st.lists(
                st.one_of(st.integers(-20, 20), st.floats(), st.text(max_size=3)), max_size=12
            ),
        ),
        max_size=7,
    )
)
def test_fuzz_params_are_cleaned_or_refused(params):
    try:
        p = validate_reexpose_params(params)
    except ParamsError as exc:
        assert str(exc)
        return
    assert p["response"] in ("estimate", "srgb", "gamma")
    assert 1 <= len(p["ev_steps"]) <= 9 and all(-8 <= e <= 8 for e in p["ev_steps"])
    assert 64 <= p["max_width"] <= 16384 and 1.0 <= p["gamma"] <= 3.5
