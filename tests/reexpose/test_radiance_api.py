"""/api/reexpose/<id>/ and /radiance/: what the workspace's exposure control reads."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from label360.exr import write_exr

from .helpers import sky_panorama

pytestmark = pytest.mark.django_db


def _decode(response) -> np.ndarray:
    assert response["Content-Encoding"] == "gzip"
    width, height = int(response["X-Width"]), int(response["X-Height"])
    raw = gzip.decompress(
        b"".join(response.streaming_content) if response.streaming else response.content
    )
    return np.frombuffer(raw, "<f2").reshape(height, width, 3).astype(np.float32)


@pytest.fixture
def hdr_pano(project):
    from annotations.uploads import store_panorama

    radiance, _ = sky_panorama(128)
    return store_panorama(project, "sky.exr", write_exr(radiance)), radiance


def test_stored_hdr_radiance_is_served_as_half_floats(client_for, users, hdr_pano):
    pano, radiance = hdr_pano
    client = client_for(users["viewer"])
    info = client.get(f"/api/reexpose/{pano.pk}/").json()
    assert info == {"stored": True, "recovered": None, "source": "stored"}
    got = _decode(client.get(f"/api/reexpose/{pano.pk}/radiance/?width=128"))
    assert got.shape == (64, 128, 3)
    assert np.allclose(got, radiance, rtol=2e-3, atol=1e-4)  # float16 precision
    smaller = _decode(client.get(f"/api/reexpose/{pano.pk}/radiance/?width=64"))
    assert smaller.shape == (32, 64, 3)


def test_recovered_radiance_after_the_job(client_for, users, project):
    from annotations.uploads import store_panorama
    from inference.runner import execute
    from inference.services import submit_job
    from tests.reexpose.test_job import _png

    from .helpers import to_ldr

    radiance, _ = sky_panorama(128)
    pano = store_panorama(project, "ldr.png", _png(to_ldr(radiance, 0.4)))
    client = client_for(users["annotator"])
    assert client.get(f"/api/reexpose/{pano.pk}/").json()["source"] is None
    missing = client.get(f"/api/reexpose/{pano.pk}/radiance/")
    assert missing.status_code == 404 and "Recover HDR" in missing.json()["detail"]
    job = submit_job("reexpose", users["manager"], project, [pano], {"response": "srgb"})
    execute(job.pk)
    info = client.get(f"/api/reexpose/{pano.pk}/").json()
    assert info["stored"] is False and info["recovered"] and info["source"] == "recovered"
    got = _decode(client.get(f"/api/reexpose/{pano.pk}/radiance/?width=128"))
    assert got.shape == (64, 128, 3) and got.max() > 1.0


def test_outsiders_get_404_and_bad_params_400(client_for, users, hdr_pano):
    pano, _ = hdr_pano
    assert client_for(users["outsider"]).get(f"/api/reexpose/{pano.pk}/").status_code == 404
    assert client_for(None).get(f"/api/reexpose/{pano.pk}/").status_code in (401, 403)
    client = client_for(users["viewer"])
    for query in ("width=8", "width=99999", "width=abc", "source=raw"):
        assert client.get(f"/api/reexpose/{pano.pk}/radiance/?{query}").status_code == 400


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    width=st.one_of(st.text(max_size=12), st.integers(-5, 10**7).map(str)),
    source=st.one_of(st.none(), st.text(max_size=10), st.sampled_from(["stored", "recovered"])),
)
def test_fuzz_radiance_query(client_for, users, hdr_pano, width, source):
    pano, _ = hdr_pano
    client = client_for(users["viewer"])
    params = {"width": width}
    if source is not None:
        params["source"] = source
    response = client.get(f"/api/reexpose/{pano.pk}/radiance/", params)
    assert response.status_code in (200, 400, 404)
    if response.status_code == 200:
        assert 16 <= int(response["X-Width"]) <= 4096
