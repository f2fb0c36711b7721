"""Partial saves (PATCH of the instance set): what autosave sends, under the revision rule."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotations.models import Instance, Panorama

from ..factories import square_geometry


def patch(client, panorama, revision, upsert=(), delete=(), **extra):
    return client.patch(
        f"/api/panoramas/{panorama.pk}/instances/",
        {"revision": revision, "upsert": list(upsert), "delete": list(delete), **extra},
        format="json",
    )


def item(label_class, geometry=None, **extra):
    return {"label_class": label_class.pk, "geometry": geometry or square_geometry(), **extra}


@pytest.fixture
def three(panorama, project, users, client_for):
    """Three instances saved by the annotator (revision 1)."""
    car = project.classes.first()
    saved = client_for(users["annotator"]).put(
        f"/api/panoramas/{panorama.pk}/instances/",
        {"revision": 0, "instances": [item(car, square_geometry(k * 40)) for k in range(3)]},
        format="json",
    )
    assert saved.status_code == 200
    return [i["id"] for i in saved.json()["instances"]]


def test_patch_changes_adds_and_deletes_only_what_it_names(
    panorama, project, users, client_for, three
):
    client = client_for(users["annotator"])
    car, building = project.classes.all()
    untouched = Instance.objects.get(pk=three[2])
    response = patch(
        client,
        panorama,
        1,
        upsert=[
            {"id": three[0], **item(building, square_geometry(5, 5))},
            item(car, square_geometry(-90, 0), attributes={}),
        ],
        delete=[three[1]],
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["revision"] == 2 and response["ETag"] == '"2"' and body["deleted"] == [three[1]]
    assert [i["id"] for i in body["instances"]][0] == three[0]
    new_id = body["instances"][1]["id"]
    rows = {i.pk: i for i in Instance.objects.filter(panorama=panorama)}
    assert set(rows) == {three[0], three[2], new_id}
    assert rows[three[0]].label_class == building
    assert rows[three[0]].geometry == square_geometry(5, 5)
    assert rows[three[0]].updated_by == users["annotator"]
    # the untouched row is not rewritten
    assert rows[three[2]].updated_at == untouched.updated_at
    # new instances go on top of the drawing order
    assert rows[new_id].order > max(rows[three[0]].order, rows[three[2]].order)
    listed = client.get(f"/api/panoramas/{panorama.pk}/instances/").json()["instances"]
    assert [i["id"] for i in listed] == [three[0], three[2], new_id]


def test_patch_needs_and_checks_the_revision(panorama, project, users, client_for, three):
    client = client_for(users["annotator"])
    car = project.classes.first()
    missing = client.patch(
        f"/api/panoramas/{panorama.pk}/instances/", {"upsert": [item(car)]}, format="json"
    )
    assert missing.status_code == 400
    stale = patch(client, panorama, 0, upsert=[item(car)])
    assert stale.status_code == 409 and stale.json()["current_revision"] == 1
    via_header = client.patch(
        f"/api/panoramas/{panorama.pk}/instances/",
        {"delete": [three[0]]},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert via_header.status_code == 200 and via_header.json()["revision"] == 2
    assert Instance.objects.filter(panorama=panorama).count() == 2


def test_an_invalid_patch_writes_nothing(
    panorama, project, users, client_for, three, foreign_project
):
    client = client_for(users["annotator"])
    car = project.classes.first()
    bowtie = [[[[0, 0], [10, 10], [10, 0], [0, 10]]]]
    other = Instance.objects.create(
        panorama=Panorama.objects.exclude(pk=panorama.pk).first() or _other_panorama(project),
        label_class=car,
        geometry=square_geometry(),
    )
    response = patch(
        client,
        panorama,
        1,
        upsert=[
            {"id": three[0], **item(car, square_geometry(1, 1))},
            item(car, bowtie),
            {"id": other.pk, **item(car)},
            item(foreign_project.classes.first()),
            {"id": three[1], **item(car)},
        ],
        delete=[three[1], 999_999],
    )
    assert response.status_code == 400
    body = response.json()
    assert set(body["upsert"]) == {"1", "2", "3", "4"}
    assert "cross" in " ".join(body["upsert"]["1"]["geometry"]).lower()
    assert "not on this panorama" in body["upsert"]["2"]["id"][0]
    assert "not in this project" in body["upsert"]["3"]["label_class"][0]
    assert "also deleted" in body["upsert"]["4"]["id"][0]
    assert body["delete"] == ["instance 999999 is not on this panorama"]
    panorama.refresh_from_db()
    assert panorama.revision == 1
    assert Instance.objects.get(pk=three[0]).geometry == square_geometry(0)
    assert Instance.objects.filter(panorama=panorama).count() == 3


def _other_panorama(project):
    from ..factories import make_panorama

    return make_panorama(project, seed=77)


def test_patch_follows_roles_and_the_workflow(panorama, project, users, client_for, three):
    car = project.classes.first()
    assert patch(client_for(users["viewer"]), panorama, 1, upsert=[item(car)]).status_code == 403
    Panorama.objects.filter(pk=panorama.pk).update(status="approved")
    locked = patch(client_for(users["manager"]), panorama, 1, delete=[three[0]])
    assert locked.status_code == 409 and locked.json()["code"] == "annotations_locked"
    assert Instance.objects.filter(panorama=panorama).count() == 3


def test_an_empty_patch_is_a_no_op_save(panorama, users, client_for, three):
    response = patch(client_for(users["annotator"]), panorama, 1)
    assert response.status_code == 200 and response.json()["instances"] == []


CURRENT = "<current revision>"
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=16,
)
coordinates = st.lists(
    st.lists(st.one_of(st.floats(-200, 200), json_scalars), min_size=0, max_size=3),
    max_size=6,
)
upsert_items = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.integers(), json_scalars),
        "label_class": st.one_of(st.integers(-5, 10**30), json_scalars),
        "geometry": st.one_of(st.lists(st.lists(coordinates, max_size=2), max_size=2), json_values),
        "attributes": json_values,
        "source": st.one_of(st.sampled_from(["manual", "model", "x"]), json_scalars),
        "is_suggestion": json_scalars,
        "score": json_scalars,
        "model_version": st.one_of(st.text(max_size=300), json_scalars),
    },
)


@FUZZ
@given(
    body=st.one_of(
        json_values,
        st.fixed_dictionaries(
            {},
            optional={
                # mostly the current revision, so that the body reaches the validation
                "revision": st.one_of(
                    st.just(CURRENT), st.just(CURRENT), st.integers(), json_scalars
                ),
                "upsert": st.one_of(st.lists(upsert_items, max_size=4), json_values),
                "delete": st.one_of(st.lists(st.integers(), max_size=4), json_values),
            },
        ),
    )
)
def test_no_patch_body_causes_a_server_error(panorama, users, client_for, three, body):
    before = list(Instance.objects.filter(panorama=panorama).values_list("pk", "geometry"))
    revision = Panorama.objects.get(pk=panorama.pk).revision
    if isinstance(body, dict) and body.get("revision") == CURRENT:
        body = {**body, "revision": revision}
    response = client_for(users["annotator"]).patch(
        f"/api/panoramas/{panorama.pk}/instances/", body, format="json"
    )
    assert response.status_code < 500, response.content[:300]
    if response.status_code != 200:
        after = list(Instance.objects.filter(panorama=panorama).values_list("pk", "geometry"))
        assert after == before
        assert Panorama.objects.get(pk=panorama.pk).revision == revision
