"""Who may edit when: the review workflow locks annotations (submitted, approved, reopen)."""

from __future__ import annotations

import pytest

from annotations.models import Instance, Panorama, ReviewEvent
from annotations.permissions import AnnotationsLocked
from annotations.services import write_annotations
from annotations.workflow import transition

from ..factories import square_geometry


def bulk(client, panorama, instances):
    panorama.refresh_from_db()
    return client.put(
        f"/api/panoramas/{panorama.pk}/instances/",
        {"revision": panorama.revision, "instances": instances},
        format="json",
    )


@pytest.fixture
def annotated(panorama, project, users, client_for):
    """The panorama with one instance saved by its annotator."""
    car = project.classes.first()
    saved = bulk(
        client_for(users["annotator"]),
        panorama,
        [{"label_class": car.pk, "geometry": square_geometry()}],
    )
    assert saved.status_code == 200
    panorama.refresh_from_db()
    return panorama


def stored(panorama) -> list:
    return list(Instance.objects.filter(panorama=panorama).values_list("geometry", flat=True))


def test_submitted_is_read_only_for_the_annotator(annotated, project, users, client_for):
    transition(annotated, "submit", users["annotator"])
    before = stored(annotated)
    annotator = client_for(users["annotator"])
    refused = bulk(annotator, annotated, [])
    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "annotations_locked" and body["status"] == "submitted"
    assert "submitted for review" in body["detail"]
    instance = Instance.objects.get(panorama=annotated)
    patch = annotator.patch(
        f"/api/instances/{instance.pk}/",
        {"geometry": square_geometry(20, 0)},
        format="json",
        HTTP_IF_MATCH=f'"{annotated.revision}"',
    )
    assert patch.status_code == 409
    assert stored(annotated) == before
    # the reviewer fixes a detail while reviewing
    fixed = bulk(
        client_for(users["reviewer"]),
        annotated,
        [
            {
                "id": instance.pk,
                "label_class": instance.label_class_id,
                "geometry": square_geometry(1),
            }
        ],
    )
    assert fixed.status_code == 200
    annotated.refresh_from_db()
    assert annotated.status == "submitted"
    # the detail tells the annotator before they try
    detail = annotator.get(f"/api/panoramas/{annotated.pk}/").json()
    assert detail["can_edit"] is False and "submitted" in detail["edit_lock"]
    assert client_for(users["reviewer"]).get(f"/api/panoramas/{annotated.pk}/").json()["can_edit"]


def test_approved_is_read_only_for_everyone_until_reopened(annotated, users, client_for):
    transition(annotated, "submit", users["annotator"])
    transition(annotated, "approve", users["reviewer"])
    before = stored(annotated)
    for role in ["annotator", "reviewer", "manager", "admin"]:
        client = client_for(users[role])
        assert bulk(client, annotated, []).status_code == 409, role
        instance = Instance.objects.get(panorama=annotated)
        deleted = client.delete(
            f"/api/instances/{instance.pk}/", HTTP_IF_MATCH=f'"{annotated.revision}"'
        )
        assert deleted.status_code == 409, role
        assert client.get(f"/api/panoramas/{annotated.pk}/").json()["can_edit"] is False
    annotated.refresh_from_db()
    assert annotated.status == "approved" and stored(annotated) == before

    manager = client_for(users["manager"])
    no_reason = manager.post(f"/api/panoramas/{annotated.pk}/reopen/", {}, format="json")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["detail"]
    reopened = manager.post(
        f"/api/panoramas/{annotated.pk}/reopen/", {"comment": "tram stop missed"}, format="json"
    )
    assert reopened.status_code == 200 and reopened.json()["status"] == "in_progress"
    event = ReviewEvent.objects.filter(panorama=annotated).first()
    assert (event.action, event.comment, event.user) == (
        "reopen",
        "tram stop missed",
        users["manager"],
    )
    assert bulk(client_for(users["annotator"]), annotated, []).status_code == 200


def test_rejection_gives_the_work_back_to_the_annotator(annotated, users, client_for):
    transition(annotated, "submit", users["annotator"])
    transition(annotated, "reject", users["reviewer"], "the bus is missing")
    assert bulk(client_for(users["annotator"]), annotated, []).status_code == 200


def test_the_state_is_checked_under_the_lock(annotated, users):
    """A write prepared before an approval (stale object in memory) is still refused."""
    stale = Panorama.objects.get(pk=annotated.pk)
    Panorama.objects.filter(pk=annotated.pk).update(status="approved")
    with pytest.raises(AnnotationsLocked):
        write_annotations(stale, stale.revision, lambda locked: None, user=users["manager"])
    # background writers (jobs, imports) are held off approved work too
    with pytest.raises(AnnotationsLocked):
        write_annotations(stale, stale.revision, lambda locked: None)
    assert Panorama.objects.get(pk=annotated.pk).revision == annotated.revision


def test_class_cascade_does_not_delete_approved_work(annotated, project, users, client_for):
    Panorama.objects.filter(pk=annotated.pk).update(status="approved")
    car = project.classes.first()
    response = client_for(users["manager"]).delete(f"/api/classes/{car.pk}/?cascade=true")
    assert response.status_code == 409 and response.json()["panoramas"] == [annotated.pk]
    assert Instance.objects.filter(panorama=annotated).count() == 1


def test_suggestions_are_not_stored_on_approved_work(annotated, users, client_for):
    from inference.prelabel.merge import Suggestion
    from inference.prelabel.store import store_suggestions

    Panorama.objects.filter(pk=annotated.pk).update(status="approved")
    result = store_suggestions(
        annotated, [Suggestion(class_name="car", geometry=square_geometry(40), score=0.9)], "m"
    )
    assert result["suggestions"] == 0 and "approved" in result["skipped"]
    assert Instance.objects.filter(panorama=annotated, is_suggestion=True).count() == 0
    accept = client_for(users["manager"]).post(
        "/api/prelabel/suggestions/accept/",
        {"panorama": annotated.pk, "revision": annotated.revision, "min_score": 0},
        format="json",
    )
    assert accept.status_code == 409 and accept.json()["code"] == "annotations_locked"
