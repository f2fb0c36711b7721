"""The API a project manager's pages use: projects with classes, archive and deletion summary,
class shortcuts, attribute schemas and ordering, user search, bulk assignment, active time,
resumable (chunked) uploads and the progress dashboard."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from annotations.models import (
    ActiveTime,
    Instance,
    LabelClass,
    Membership,
    Panorama,
    Project,
    ReviewEvent,
    UploadSession,
)

from ..factories import make_panorama, make_project, make_user, panorama_bytes, square_geometry

pytestmark = pytest.mark.django_db

SCHEMA = [
    {"name": "occluded", "type": "bool"},
    {"name": "text", "type": "str"},
    {"name": "kind", "type": "enum", "options": ["sedan", "van"]},
]


# ----------------------------------------------------------------------------- projects
def test_admin_creates_a_project_with_pasted_classes(users, client_for):
    client = client_for(users["admin"])
    body = {
        "name": "Rooms",
        "description": "indoor",
        "default_fov": 110,
        "classes": [
            {"name": "chair", "color": "#FF0000", "shortcut": "q", "attribute_schema": SCHEMA},
            {"name": "ignore", "color": "#000000", "is_ignore": True},
        ],
    }
    response = client.post("/api/projects/", body, format="json")
    assert response.status_code == 201, response.data
    project = Project.objects.get(name="Rooms")
    assert response.data["role"] == "admin"
    classes = list(project.classes.order_by("order"))
    assert [c.name for c in classes] == ["chair", "ignore"]
    assert classes[0].color == "#ff0000" and classes[0].shortcut == "q"
    assert classes[0].attribute_schema == SCHEMA
    assert classes[1].is_ignore
    assert Membership.objects.get(project=project, user=users["admin"]).role == "manager"


def test_pasted_classes_are_validated_and_nothing_is_created(users, client_for):
    client = client_for(users["admin"])
    body = {
        "name": "Bad",
        "classes": [
            {"name": "a", "color": "red"},
            {"name": "b", "attribute_schema": [{"name": "x", "type": "enum"}]},
            {"name": "ok"},
            {"name": "ok"},
            {"name": "c", "shortcut": "d"},
        ],
    }
    response = client.post("/api/projects/", body, format="json")
    assert response.status_code == 400
    errors = response.data["classes"]
    assert "color" in errors["0"] and "attribute_schema" in errors["1"]
    assert "appears twice" in str(errors["3"]) and "tool key" in str(errors["4"])
    assert not Project.objects.filter(name="Bad").exists()


def test_classes_copied_from_another_project(users, project, client_for):
    LabelClass.objects.filter(project=project, name="car").update(
        attribute_schema=SCHEMA, shortcut="9"
    )
    response = client_for(users["admin"]).post(
        "/api/projects/", {"name": "Copy", "copy_classes_from": project.pk}, format="json"
    )
    assert response.status_code == 201
    copied = list(Project.objects.get(name="Copy").classes.order_by("order"))
    assert [(c.name, c.color, c.shortcut) for c in copied] == [
        ("car", "#ff0000", "9"),
        ("building", "#0000ff", ""),
    ]
    assert copied[0].attribute_schema == SCHEMA


def test_project_creators(users, client_for):
    assert client_for(users["manager"]).post("/api/projects/", {"name": "x"}).status_code == 403
    lead = make_user("lead")
    lead.user_permissions.add(Permission.objects.get(codename="add_project"))
    response = client_for(lead).post("/api/projects/", {"name": "Lead's"}, format="json")
    assert response.status_code == 201
    assert response.data["role"] == "manager"
    # a foreign project cannot be a class source
    foreign = make_project("Foreign")
    response = client_for(lead).post(
        "/api/projects/", {"name": "Y", "copy_classes_from": foreign.pk}, format="json"
    )
    assert response.status_code == 400


def test_archive_hides_the_project_until_restored(users, project, client_for):
    manager = client_for(users["manager"])
    assert client_for(users["annotator"]).post(
        f"/api/projects/{project.pk}/archive/"
    ).status_code in (403, 404)
    response = manager.post(f"/api/projects/{project.pk}/archive/")
    assert response.status_code == 200 and response.data["archived"]
    assert manager.get("/api/projects/").data["count"] == 0
    archived = manager.get("/api/projects/?archived=1").data["results"]
    assert [p["id"] for p in archived] == [project.pk]
    assert manager.get(f"/api/projects/{project.pk}/").status_code == 200
    assert not manager.post(f"/api/projects/{project.pk}/unarchive/").data["archived"]
    assert manager.get("/api/projects/").data["count"] == 1


def test_deletion_summary_counts_what_goes(users, project, panorama, client_for):
    Instance.objects.create(
        panorama=panorama, label_class=project.classes.first(), geometry=square_geometry()
    )
    ReviewEvent.objects.create(panorama=panorama, user=users["annotator"], action="submit")
    response = client_for(users["manager"]).get(f"/api/projects/{project.pk}/deletion-summary/")
    assert response.status_code == 200
    counts = {item["model"]: item["count"] for item in response.data["items"]}
    assert counts["annotations.panorama"] == 1
    assert counts["annotations.instance"] == 1
    assert counts["annotations.labelclass"] == 2
    assert counts["annotations.membership"] == 4
    assert counts["annotations.reviewevent"] == 1
    assert response.data["image_bytes"] == panorama.size_bytes
    assert (
        client_for(users["viewer"]).get(f"/api/projects/{project.pk}/deletion-summary/").status_code
        == 403
    )


# ----------------------------------------------------------------------------- classes
def test_class_shortcut_schema_and_reorder(users, project, client_for):
    manager = client_for(users["manager"])
    car, building = project.classes.order_by("order")
    assert manager.patch(f"/api/classes/{car.pk}/", {"shortcut": "e"}).status_code == 400
    assert manager.patch(f"/api/classes/{car.pk}/", {"shortcut": "Q"}).status_code == 200
    clash = manager.patch(f"/api/classes/{building.pk}/", {"shortcut": "q"})
    assert clash.status_code == 400 and "car" in str(clash.data)
    bad = manager.patch(
        f"/api/classes/{car.pk}/",
        {"attribute_schema": [{"name": "k", "type": "enum", "options": ["a", "a"]}]},
        format="json",
    )
    assert bad.status_code == 400
    ok = manager.patch(f"/api/classes/{car.pk}/", {"attribute_schema": SCHEMA}, format="json")
    assert ok.status_code == 200 and ok.data["attribute_schema"] == SCHEMA
    response = manager.post(
        "/api/classes/reorder/", {"project": project.pk, "order": [building.pk, car.pk]}, "json"
    )
    assert response.status_code == 200
    assert [c["name"] for c in response.data] == ["building", "car"]
    partial = manager.post("/api/classes/reorder/", {"project": project.pk, "order": [car.pk]})
    assert partial.status_code == 400
    annotator = client_for(users["annotator"])
    assert (
        annotator.post(
            "/api/classes/reorder/", {"project": project.pk, "order": [car.pk, building.pk]}, "json"
        ).status_code
        == 403
    )


def test_instance_attributes_follow_the_class_schema(users, project, panorama, client_for):
    car = project.classes.get(name="car")
    car.attribute_schema = SCHEMA
    car.save()
    client = client_for(users["annotator"])
    item = {"label_class": car.pk, "geometry": square_geometry()}

    def put(attributes, revision):
        return client.put(
            f"/api/panoramas/{panorama.pk}/instances/",
            {"revision": revision, "instances": [{**item, "attributes": attributes}]},
            format="json",
        )

    bad = put({"occluded": "yes", "kind": "truck"}, 0)
    assert bad.status_code == 400
    problems = bad.data["instances"]["0"]["attributes"]
    assert any("occluded" in p for p in problems) and any("kind" in p for p in problems)
    good = put({"occluded": True, "kind": "van", "text": "AB 123", "extra": 1}, 0)
    assert good.status_code == 200
    saved = Instance.objects.get(panorama=panorama)
    assert saved.attributes == {"occluded": True, "kind": "van", "text": "AB 123", "extra": 1}
    # the schema changes later: the untouched instance still saves
    car.attribute_schema = [{"name": "kind", "type": "enum", "options": ["bus"]}]
    car.save()
    again = client.put(
        f"/api/panoramas/{panorama.pk}/instances/",
        {
            "revision": 1,
            "instances": [{**item, "id": saved.pk, "attributes": saved.attributes}],
        },
        format="json",
    )
    assert again.status_code == 200, again.data


# ----------------------------------------------------------------------------- members
def test_user_search_is_for_managers(users, project, client_for):
    make_user("newcomer")
    found = client_for(users["manager"]).get("/api/users/?search=newc").data
    assert [u["username"] for u in found] == ["newcomer"]
    assert client_for(users["annotator"]).get("/api/users/?search=n").status_code == 403


# ----------------------------------------------------------------------------- assignment
def test_bulk_assignment(users, project, client_for):
    panos = [make_panorama(project, seed=k) for k in range(5)]
    manager = client_for(users["manager"])

    def post(body):
        return manager.post("/api/panoramas/assign/", {"project": project.pk, **body}, "json")

    response = post({"panoramas": [panos[0].pk], "users": ["annotator"]})
    assert response.status_code == 200
    response = post({"next_unassigned": 3, "users": ["annotator", "reviewer"], "distribute": True})
    assert response.data["ids"] == [p.pk for p in panos[1:4]]
    assert response.data["assignments"] == {"annotator": 2, "reviewer": 1}
    assert list(panos[2].assignees.values_list("username", flat=True)) == ["reviewer"]
    post({"panoramas": [panos[2].pk], "users": ["manager"], "mode": "replace"})
    assert list(panos[2].assignees.values_list("username", flat=True)) == ["manager"]
    post({"panoramas": [panos[1].pk], "users": ["annotator"], "mode": "remove"})
    assert not panos[1].assignees.exists()
    assert post({"next_unassigned": 1, "users": ["viewer"]}).status_code == 400
    assert post({"next_unassigned": 1, "users": ["outsider"]}).status_code == 400
    foreign = make_panorama(make_project("Other"), seed=9)
    assert post({"panoramas": [foreign.pk], "users": ["annotator"]}).status_code == 400
    annotator = client_for(users["annotator"])
    assert (
        annotator.post(
            "/api/panoramas/assign/",
            {"project": project.pk, "next_unassigned": 1, "users": ["annotator"]},
            "json",
        ).status_code
        == 403
    )


# ----------------------------------------------------------------------------- active time
def test_active_time_is_bounded_by_the_clock(users, panorama, client_for):
    client = client_for(users["annotator"])
    url = f"/api/panoramas/{panorama.pk}/active-time/"
    first = client.post(url, {"seconds": 30}, "json")
    assert first.status_code == 200 and first.data["counted"] == 30
    # an immediate second beat cannot claim another 30 s
    second = client.post(url, {"seconds": 30}, "json")
    assert second.data["counted"] <= 6
    ActiveTime.objects.update(last_beat=timezone.now() - timedelta(seconds=40))
    third = client.post(url, {"seconds": 30}, "json")
    assert third.data["counted"] == 30
    assert client.post(url, {"seconds": 301}, "json").status_code == 400
    assert client.post(url, {"seconds": -1}, "json").status_code == 400
    viewer = client_for(users["viewer"])
    assert viewer.post(url, {"seconds": 10}, "json").status_code == 403
    assert third.data["per_user"]["annotator"] >= 60


# ----------------------------------------------------------------------------- chunked upload
def _chunks(data: bytes, size: int):
    return [data[k : k + size] for k in range(0, len(data), size)]


def test_chunked_upload_resumes_and_stores(users, project, client_for):
    manager = client_for(users["manager"])
    data = panorama_bytes(256, 128, fmt="PNG", seed=4)
    start = manager.post(
        "/api/uploads/", {"project": project.pk, "filename": "big.png", "size": len(data)}, "json"
    )
    assert start.status_code == 201
    sid = start.data["id"]
    parts = _chunks(data, max(1, len(data) // 3 + 1))
    url = f"/api/uploads/{sid}/chunk/"
    ok = manager.put(f"{url}?offset=0", parts[0], content_type="application/octet-stream")
    assert ok.status_code == 200 and ok.data["received"] == len(parts[0])
    # the answer was "lost": the client retries the same chunk and is told where to resume
    again = manager.put(f"{url}?offset=0", parts[0], content_type="application/octet-stream")
    assert again.status_code == 409 and again.data["received"] == len(parts[0])
    offset = manager.get(f"/api/uploads/{sid}/").data["received"]
    for part in parts[1:]:
        r = manager.put(f"{url}?offset={offset}", part, content_type="application/octet-stream")
        assert r.status_code == 200
        offset = r.data["received"]
    done = manager.post(f"/api/uploads/{sid}/complete/")
    assert done.status_code == 201
    pano = Panorama.objects.get(pk=done.data["panorama"]["id"])
    assert pano.original_name == "big.png" and pano.size_bytes == len(data)
    # completing twice answers the same panorama
    assert manager.post(f"/api/uploads/{sid}/complete/").data["panorama"]["id"] == pano.pk


def test_chunked_upload_refusals(users, project, client_for, settings):
    manager = client_for(users["manager"])
    data = panorama_bytes(100, 100, seed=1)  # square: not 2:1
    sid = manager.post(
        "/api/uploads/", {"project": project.pk, "filename": "sq.jpg", "size": len(data)}, "json"
    ).data["id"]
    early = manager.post(f"/api/uploads/{sid}/complete/")
    assert early.status_code == 409 and early.data["received"] == 0
    manager.put(
        f"/api/uploads/{sid}/chunk/?offset=0", data, content_type="application/octet-stream"
    )
    refused = manager.post(f"/api/uploads/{sid}/complete/")
    assert refused.status_code == 400 and "2:1" in refused.data["error"]
    assert UploadSession.objects.get(pk=sid).error
    past = manager.post(
        "/api/uploads/", {"project": project.pk, "filename": "x.jpg", "size": 4}, "json"
    ).data["id"]
    too_long = manager.put(
        f"/api/uploads/{past}/chunk/?offset=0", b"12345", content_type="application/octet-stream"
    )
    assert too_long.status_code == 400
    settings.LABEL360_MAX_UPLOAD_BYTES = 1000
    huge = manager.post(
        "/api/uploads/", {"project": project.pk, "filename": "h.jpg", "size": 1001}, "json"
    )
    assert huge.status_code == 400 and "limit" in huge.data["detail"]
    annotator = client_for(users["annotator"])
    assert (
        annotator.post(
            "/api/uploads/", {"project": project.pk, "filename": "a.jpg", "size": 10}, "json"
        ).status_code
        == 403
    )
    # sessions are private to their uploader
    assert annotator.get(f"/api/uploads/{past}/").status_code == 404
    assert manager.delete(f"/api/uploads/{past}/").status_code == 204


# ----------------------------------------------------------------------------- dashboard
def test_dashboard_counts(users, project, client_for):
    car = project.classes.get(name="car")
    a, b, c = (make_panorama(project, seed=k) for k in range(3))
    for pano in (a, b):
        pano.assignees.add(users["annotator"])
    Instance.objects.create(
        panorama=a, label_class=car, geometry=square_geometry(), created_by=users["annotator"]
    )
    Instance.objects.create(
        panorama=a, label_class=car, geometry=square_geometry(40), is_suggestion=True
    )
    Panorama.objects.filter(pk=a.pk).update(status="submitted")
    Panorama.objects.filter(pk=b.pk).update(status="rejected")
    ReviewEvent.objects.create(panorama=b, user=users["annotator"], action="submit")
    ReviewEvent.objects.create(panorama=b, user=users["reviewer"], action="reject", comment="x")
    ReviewEvent.objects.create(panorama=a, user=users["annotator"], action="submit")
    now = timezone.now()
    ActiveTime.objects.create(
        user=users["annotator"], panorama=a, day=timezone.localdate(), seconds=120, last_beat=now
    )
    response = client_for(users["manager"]).get(f"/api/projects/{project.pk}/dashboard/")
    assert response.status_code == 200
    d = response.data
    assert d["panoramas"] == 3 and d["done"] == 1
    assert {s["status"]: s["count"] for s in d["statuses"]}["rejected"] == 1
    assert {c["name"]: (c["instances"], c["suggestions"]) for c in d["classes"]}["car"] == (1, 1)
    ann = {p["username"]: p for p in d["annotators"]}["annotator"]
    assert ann["assigned"] == 2 and ann["done"] == 1 and ann["instances"] == 1
    assert ann["active_seconds"] == 120
    assert ann["submissions"] == 2 and ann["rejections"] == 1 and ann["rejection_rate"] == 0.5
    assert d["active"]["mean_seconds_per_done_panorama"] == 120
    assert d["active"]["per_day"][-1]["seconds"] == 120
    assert "viewer" not in {p["username"] for p in d["annotators"]}
    assert (
        client_for(users["annotator"]).get(f"/api/projects/{project.pk}/dashboard/").status_code
        == 403
    )


def test_settings_are_merged_key_by_key(users, project, client_for):
    """A page that edits one settings key keeps the others (a job's, another page's); null
    removes a key; a non-object is refused."""
    project.settings = {"detectors": {"classes": {"face": "person"}}, "prelabel": {"x": 1}}
    project.save()
    manager = client_for(users["manager"])
    url = f"/api/projects/{project.pk}/"
    dataset = {"info": {"version": "2.0"}}
    answer = manager.patch(url, {"settings": {"dataset": dataset}}, format="json")
    assert answer.status_code == 200, answer.data
    project.refresh_from_db()
    assert project.settings["detectors"] == {"classes": {"face": "person"}}
    assert project.settings["prelabel"] == {"x": 1}
    assert project.settings["dataset"] == dataset
    manager.patch(url, {"settings": {"prelabel": None}}, format="json")
    project.refresh_from_db()
    assert "prelabel" not in project.settings and "detectors" in project.settings
    assert manager.patch(url, {"settings": [1, 2]}, format="json").status_code == 400
