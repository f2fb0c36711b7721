"""Writes to annotations: no lost updates, atomic bulk saves, geometry validation."""

from __future__ import annotations

import pytest

from annotations.models import Instance

from ..factories import square_geometry


def bulk(client, panorama, instances, revision):
    return client.put(
        f"/api/panoramas/{panorama.pk}/instances/",
        {"revision": revision, "instances": instances},
        format="json",
    )


def item(label_class, geometry=None, **extra):
    return {"label_class": label_class.pk, "geometry": geometry or square_geometry(), **extra}


def test_bulk_save_creates_updates_deletes_and_bumps_revision(panorama, project, users, client_for):
    client = client_for(users["annotator"])
    car, building = project.classes.all()
    first = bulk(client, panorama, [item(car), item(building, square_geometry(90, 0))], 0)
    assert first.status_code == 200, first.json()
    assert first.json()["revision"] == 1 and first["ETag"] == '"1"'
    ids = [i["id"] for i in first.json()["instances"]]
    second = bulk(client, panorama, [{"id": ids[1], **item(car, square_geometry(95, 5))}], 1)
    assert second.status_code == 200
    kept = Instance.objects.get(panorama=panorama)
    assert kept.pk == ids[1] and kept.label_class == car
    assert kept.geometry == square_geometry(95, 5)
    panorama.refresh_from_db()
    assert panorama.revision == 2 and panorama.status == "in_progress"


def test_geometry_round_trips_exactly(panorama, project, users, client_for):
    client = client_for(users["annotator"])
    geometry = [[[[179.123456789012345, 1.5e-7], [-179.98765432109876, 2.25], [-179.5, -3.0]]]]
    response = bulk(client, panorama, [item(project.classes.first(), geometry)], 0)
    assert response.status_code == 200, response.json()
    stored = client.get(f"/api/panoramas/{panorama.pk}/instances/").json()["instances"][0]
    assert stored["geometry"] == geometry


def test_stale_revision_gets_409_and_first_writer_keeps_data(panorama, project, users, client_for):
    alice, bob = client_for(users["annotator"]), client_for(users["reviewer"])
    car = project.classes.first()
    base = client_for(users["annotator"]).get(f"/api/panoramas/{panorama.pk}/instances/").json()
    assert base["revision"] == 0
    ok = bulk(alice, panorama, [item(car, square_geometry(10, 0))], base["revision"])
    assert ok.status_code == 200
    stale = bulk(bob, panorama, [item(car, square_geometry(-120, 0))], base["revision"])
    assert stale.status_code == 409
    assert stale.json()["current_revision"] == 1 and stale.json()["code"] == "revision_conflict"
    stored = Instance.objects.get(panorama=panorama)
    assert stored.geometry == square_geometry(10, 0)


def test_single_instance_writes_need_and_check_the_revision(panorama, project, users, client_for):
    client = client_for(users["annotator"])
    car = project.classes.first()
    body = {"panorama": panorama.pk, "label_class": car.pk, "geometry": square_geometry()}
    assert client.post("/api/instances/", body, format="json").status_code == 400
    created = client.post("/api/instances/", {**body, "revision": 0}, format="json")
    assert created.status_code == 201 and created.json()["revision"] == 1
    instance_id = created.json()["id"]
    stale = client.patch(
        f"/api/instances/{instance_id}/",
        {"geometry": square_geometry(5, 5)},
        format="json",
        HTTP_IF_MATCH='"0"',
    )
    assert stale.status_code == 409
    fresh = client.patch(
        f"/api/instances/{instance_id}/",
        {"geometry": square_geometry(5, 5)},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert fresh.status_code == 200 and fresh.json()["revision"] == 2
    assert client.delete(f"/api/instances/{instance_id}/", HTTP_IF_MATCH='"1"').status_code == 409
    assert client.delete(f"/api/instances/{instance_id}/", HTTP_IF_MATCH='"2"').status_code == 200
    assert not Instance.objects.filter(pk=instance_id).exists()


def test_bulk_save_is_atomic_one_bad_instance_saves_nothing(panorama, project, users, client_for):
    client = client_for(users["annotator"])
    car = project.classes.first()
    assert bulk(client, panorama, [item(car)], 0).status_code == 200
    bad = [[[[0, 0], [179.9, 0], [0, 10]]]]  # fine
    antipodal = [[[[0, 0], [180, 0], [90, 45]]]]  # 180° edge: ambiguous great circle
    response = bulk(
        client,
        panorama,
        [item(car, square_geometry(40, 0)), item(car, bad), item(car, antipodal)],
        1,
    )
    assert response.status_code == 400
    problems = response.json()["instances"]
    assert list(problems) == ["2"] and "ring 0" in problems["2"]["geometry"][0]
    assert Instance.objects.filter(panorama=panorama).count() == 1
    panorama.refresh_from_db()
    assert panorama.revision == 1


@pytest.mark.parametrize(
    "geometry,needle",
    [
        ([[[[0, 0], [10, 0]]]], "3"),
        ([[[[0, 0], [10, 0], [None, 5]]]], "numbers"),
        ([[[[0, 0], [10, 0], [5, 95]]]], "lat"),
        ([[[[0, 0], [10, 0], [10, 10], [0, 10], [10, 10]]]], ""),
        ([[[[0, 0], [10, 10], [10, 0], [0, 10]]]], "cross"),
        ([[[[0, 0], [0, 0], [5, 5], [3, 8]]]], ""),
        ("not a list", "list"),
        ([[[["a", 1], [2, 3], [4, 5]]]], "numbers"),
    ],
    ids=["too-few", "null", "lat-range", "repeat", "bowtie", "duplicate", "type", "strings"],
)
def test_invalid_geometry_is_refused_with_a_reason(
    geometry, needle, panorama, project, users, client_for
):
    client = client_for(users["annotator"])
    body = {
        "panorama": panorama.pk,
        "label_class": project.classes.first().pk,
        "geometry": geometry,
        "revision": 0,
    }
    response = client.post("/api/instances/", body, format="json")
    assert response.status_code == 400, response.content
    message = " ".join(response.json()["geometry"]).lower()
    assert needle in message and "part 0" in message or needle in {"list"}, message
    assert not Instance.objects.exists()


def test_class_of_another_project_is_refused(panorama, foreign_project, users, client_for):
    other_class = foreign_project.classes.first()
    response = bulk(client_for(users["annotator"]), panorama, [item(other_class)], 0)
    assert response.status_code == 400
    assert "not in this project" in response.json()["instances"]["0"]["label_class"][0]


def test_deleting_a_used_class_asks_first(panorama, project, users, client_for):
    client = client_for(users["manager"])
    car = project.classes.first()
    bulk(client, panorama, [item(car)], 0)
    refused = client.delete(f"/api/classes/{car.pk}/")
    assert refused.status_code == 409 and refused.json()["instance_count"] == 1
    assert client.delete(f"/api/classes/{car.pk}/?cascade=true").status_code == 204
    panorama.refresh_from_db()
    assert not Instance.objects.exists() and panorama.revision == 2


def test_review_workflow(panorama, users, client_for):
    annotator, reviewer = client_for(users["annotator"]), client_for(users["reviewer"])
    assert reviewer.post(f"/api/panoramas/{panorama.pk}/approve/").status_code == 409
    assert annotator.post(f"/api/panoramas/{panorama.pk}/submit/").json()["status"] == "submitted"
    assert annotator.post(f"/api/panoramas/{panorama.pk}/approve/").status_code == 403
    assert reviewer.post(f"/api/panoramas/{panorama.pk}/reject/", {}).status_code == 400
    rejected = reviewer.post(f"/api/panoramas/{panorama.pk}/reject/", {"comment": "car missing"})
    assert rejected.json()["status"] == "rejected"
    annotator.post(f"/api/panoramas/{panorama.pk}/submit/")
    assert reviewer.post(f"/api/panoramas/{panorama.pk}/approve/").json()["status"] == "approved"
    events = annotator.get(f"/api/panoramas/{panorama.pk}/events/").json()
    assert [e["action"] for e in events] == ["approve", "submit", "reject", "submit"]
    assert events[2]["comment"] == "car missing"


def test_panorama_list_filters_and_search(project, users, client_for):
    from ..factories import make_panorama

    a = make_panorama(project, seed=11, name="alpha_street.jpg")
    make_panorama(project, seed=12, name="beta_room.jpg")
    a.assignees.add(users["annotator"])
    client = client_for(users["viewer"])
    assert client.get("/api/panoramas/?search=alpha").json()["count"] == 1
    assert client.get("/api/panoramas/?assignee=annotator").json()["results"][0]["id"] == a.pk
    assert client.get("/api/panoramas/?status=new").json()["count"] == 2
    assert client.get(f"/api/panoramas/?project={project.pk}&page_size=1").json()["count"] == 2


def test_nan_in_json_is_refused(panorama, project, users, client_for):
    body = (
        f'{{"panorama": {panorama.pk}, "label_class": {project.classes.first().pk}, '
        '"revision": 0, "geometry": [[[[0, 0], [10, 0], [NaN, 5]]]]}'
    )
    response = client_for(users["annotator"]).generic(
        "POST", "/api/instances/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert not Instance.objects.exists()


def test_non_finite_coordinates_are_named():
    from annotations.geometry import geometry_errors

    errors = geometry_errors([[[[0, 0], [10, 0], [float("inf"), 5]]]])
    assert errors == ["part 0, ring 0, vertex 2: coordinates must be finite"]


def test_mask_and_label_pngs_are_exact_rasterisations(panorama, project, users, client_for):
    import io

    import numpy as np
    from PIL import Image

    from label360 import sphere

    client = client_for(users["viewer"])
    writer = client_for(users["annotator"])
    car, building = project.classes.all()
    seam = [[[[170, -10], [-170, -10], [-170, 10], [170, 10]]]]
    saved = bulk(
        writer, panorama, [item(car, seam), item(building, square_geometry(-175, 0, 8))], 0
    )
    ids = [i["id"] for i in saved.json()["instances"]]
    response = client.get(f"/api/instances/{ids[0]}/mask/?width=256")
    mask = np.asarray(Image.open(io.BytesIO(response.content)))
    assert mask.shape == (128, 256)
    assert np.array_equal(mask > 0, sphere.rasterize(seam, 256, 128))
    assert mask[64, 0] == 255 and mask[64, 255] == 255  # both sides of the seam
    labels = client.get(f"/api/panoramas/{panorama.pk}/labels/?width=256")
    legend_body = client.get(labels["X-Label-Legend-URL"]).json()
    legend = {int(k): v for k, v in legend_body["legend"].items()}
    label_map = np.asarray(Image.open(io.BytesIO(labels.content)))
    assert label_map.dtype == np.uint16 and legend == {1: ids[0], 2: ids[1]}
    expected = sphere.label_map([seam, square_geometry(-175, 0, 8)], 256, 128)
    assert np.array_equal(label_map, expected)
    by_class = client.get(f"/api/panoramas/{panorama.pk}/labels/?width=256&by=class")
    class_map = np.asarray(Image.open(io.BytesIO(by_class.content)))
    assert set(np.unique(class_map)) == {0, 1, 2}
