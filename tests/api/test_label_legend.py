"""The label map's legend lives in its own JSON endpoint; the PNG's headers stay small.

A legend of 5,000 instances in a header was about 69 KB, which proxies (and gunicorn, whose
header limit is 8 KB per field) refuse.
"""

from __future__ import annotations

import io

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from annotations.models import Instance, Panorama
from label360 import sphere

from ..factories import square_geometry

MANY = 5000


def _header_bytes(response) -> int:
    return sum(len(name) + len(str(value)) + 4 for name, value in response.items())


def _many_instances(panorama, label_class, count: int) -> list[int]:
    rng = np.random.default_rng(0)
    lons = rng.uniform(-170, 170, count)
    lats = rng.uniform(-60, 60, count)
    Instance.objects.bulk_create(
        Instance(
            panorama=panorama,
            label_class=label_class,
            geometry=square_geometry(float(lon), float(lat), 0.5),
            order=k,
        )
        for k, (lon, lat) in enumerate(zip(lons, lats, strict=True))
    )
    Panorama.objects.filter(pk=panorama.pk).update(revision=3)
    return list(
        Instance.objects.filter(panorama=panorama)
        .order_by("order", "id")
        .values_list("id", flat=True)
    )


def test_label_map_of_5000_instances_keeps_its_headers_small(panorama, project, users, client_for):
    client = client_for(users["viewer"])
    car = project.classes.get(name="car")
    ids = _many_instances(panorama, car, MANY)

    response = client.get(f"/api/panoramas/{panorama.pk}/labels/?width=512")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "X-Label-Legend" not in response
    assert _header_bytes(response) < 1024, dict(response.items())
    assert response["X-Label-Revision"] == "3"
    pointer = response["X-Label-Legend-URL"]
    assert pointer == f"/api/panoramas/{panorama.pk}/labels/legend/?by=instance&revision=3"

    legend_response = client.get(pointer)
    assert legend_response.status_code == 200
    body = legend_response.json()
    assert (body["panorama"], body["by"], body["revision"]) == (panorama.pk, "instance", 3)
    legend = {int(value): ident for value, ident in body["legend"].items()}
    assert legend == {k + 1: pk for k, pk in enumerate(ids)}

    # value k is the k-th instance of the legend, painted exactly as the rasteriser paints it
    label_map = np.asarray(Image.open(io.BytesIO(response.content)))
    by_id = dict(Instance.objects.filter(panorama=panorama).values_list("id", "geometry"))
    expected = sphere.label_map([by_id[legend[k]] for k in sorted(legend)], 512, 256)
    assert np.array_equal(label_map, expected)
    assert len(np.unique(label_map)) > 1000  # most of the 5,000 squares are visible


def test_legend_by_class_and_a_stale_revision(panorama, project, users, client_for):
    client = client_for(users["viewer"])
    car, building = project.classes.order_by("order")
    Instance.objects.create(panorama=panorama, label_class=building, geometry=square_geometry())
    Panorama.objects.filter(pk=panorama.pk).update(revision=1)

    labels = client.get(f"/api/panoramas/{panorama.pk}/labels/?width=64&by=class")
    assert labels.status_code == 200
    pointer = labels["X-Label-Legend-URL"]
    assert "by=class" in pointer and "revision=1" in pointer
    legend = client.get(pointer).json()["legend"]
    assert legend == {"1": car.pk, "2": building.pk}
    class_map = np.asarray(Image.open(io.BytesIO(labels.content)))
    assert set(np.unique(class_map)) == {0, 2}

    # the annotations changed after the map was drawn: the pinned legend is refused
    Panorama.objects.filter(pk=panorama.pk).update(revision=2)
    stale = client.get(pointer)
    assert stale.status_code == 409
    assert stale.json()["current_revision"] == 2
    fresh = client.get(f"/api/panoramas/{panorama.pk}/labels/legend/?by=class")
    assert fresh.status_code == 200 and fresh.json()["revision"] == 2


def test_legend_refuses_bad_parameters_and_outsiders(panorama, users, client_for):
    client = client_for(users["viewer"])
    url = f"/api/panoramas/{panorama.pk}/labels/legend/"
    assert client.get(url, {"by": "pixel"}).status_code == 400
    assert client.get(url, {"revision": "x"}).status_code == 400
    assert client_for(users["outsider"]).get(url).status_code == 404
    assert client_for(None).get(url).status_code in {401, 403}


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    by=st.one_of(st.none(), st.sampled_from(["instance", "class"]), st.text(max_size=20)),
    revision=st.one_of(st.none(), st.integers(-(2**70), 2**70).map(str), st.text(max_size=20)),
)
def test_legend_answers_any_query_without_a_server_error(panorama, users, client_for, by, revision):
    query = {key: value for key, value in (("by", by), ("revision", revision)) if value is not None}
    response = client_for(users["viewer"]).get(
        f"/api/panoramas/{panorama.pk}/labels/legend/", query
    )
    assert response.status_code in {200, 400, 409}, response.content
    if response.status_code == 200:
        assert response.json()["by"] in {"instance", "class"}
