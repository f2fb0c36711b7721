"""The permission matrix: every endpoint × every role × own/foreign project.

Expected codes are written out per endpoint for the roles manager, annotator (assigned
to the panorama), reviewer, viewer and admin (staff). In a foreign project every
role but admin gets 404, so nothing about other projects leaks. Cases with a ``state``
put the panorama in that workflow state first: a role that may not write answers 403,
a state that does not allow the write answers 409.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from annotations.models import Instance, LabelClass, Membership, Panorama

from ..factories import make_panorama, make_project, make_user, panorama_bytes, square_geometry

ROLES = ["manager", "annotator", "reviewer", "viewer", "admin"]


@dataclass
class World:
    project: object
    panorama: Panorama
    label_class: LabelClass
    instance: Instance
    membership: Membership


def build_world(name: str, members: dict) -> World:
    project = make_project(name, members)
    panorama = make_panorama(project, seed=hash(name) % 1000)
    if "annotator" in members:
        panorama.assignees.add(members["annotator"])
    label_class = project.classes.first()
    instance = Instance.objects.create(
        panorama=panorama, label_class=label_class, geometry=square_geometry()
    )
    membership = project.memberships.first() or Membership.objects.create(
        project=project, user=make_user(f"{name}-member"), role="viewer"
    )
    return World(project, panorama, label_class, instance, membership)


@dataclass
class Case:
    name: str
    method: str
    url: Callable[[World], str]
    body: Callable[[World], dict] | None
    own: dict  # role -> expected status in the user's own project
    foreign: int | None = 404  # every non-admin role in a foreign project (None: skip)
    multipart: bool = False
    state: str | None = None  # the panorama's workflow status before the call


ALL_200 = dict.fromkeys(ROLES, 200)


def only(allowed: dict, others: int = 403) -> dict:
    return {role: allowed.get(role, others) for role in ROLES}


WRITERS = ("manager", "annotator", "reviewer", "admin")
#: submitted: read-only for the annotator, reviewers and managers may still correct
SUBMITTED_WRITE = only({"manager": 200, "annotator": 409, "reviewer": 200, "admin": 200})
#: approved: read-only for everyone until reopened
APPROVED_WRITE = only(dict.fromkeys(WRITERS, 409))


def bulk_body(w: World) -> dict:
    return {
        "revision": w.panorama.revision,
        "instances": [{"label_class": w.label_class.pk, "geometry": square_geometry(30, 5)}],
    }


CASES = [
    Case("project retrieve", "get", lambda w: f"/api/projects/{w.project.pk}/", None, ALL_200),
    Case(
        "project update",
        "patch",
        lambda w: f"/api/projects/{w.project.pk}/",
        lambda w: {"description": "changed"},
        only({"manager": 200, "admin": 200}),
    ),
    Case(
        "project delete",
        "delete",
        lambda w: f"/api/projects/{w.project.pk}/",
        None,
        only({"admin": 204}),
    ),
    Case(
        "membership list",
        "get",
        lambda w: f"/api/memberships/{w.membership.pk}/",
        None,
        ALL_200,
    ),
    Case(
        "membership create",
        "post",
        lambda w: "/api/memberships/",
        lambda w: {"project": w.project.pk, "username": "newcomer", "role": "viewer"},
        only({"manager": 201, "admin": 201}),
    ),
    Case(
        "membership update",
        "patch",
        lambda w: f"/api/memberships/{w.membership.pk}/",
        lambda w: {"role": "reviewer"},
        only({"manager": 200, "admin": 200}),
    ),
    Case("class retrieve", "get", lambda w: f"/api/classes/{w.label_class.pk}/", None, ALL_200),
    Case(
        "class create",
        "post",
        lambda w: "/api/classes/",
        lambda w: {"project": w.project.pk, "name": "tree", "color": "#00ff00"},
        only({"manager": 201, "admin": 201}),
    ),
    Case(
        "class update",
        "patch",
        lambda w: f"/api/classes/{w.label_class.pk}/",
        lambda w: {"color": "#123456"},
        only({"manager": 200, "admin": 200}),
    ),
    Case(
        "class delete (in use, cascade)",
        "delete",
        lambda w: f"/api/classes/{w.label_class.pk}/?cascade=true",
        None,
        only({"manager": 204, "admin": 204}),
    ),
    Case("panorama retrieve", "get", lambda w: f"/api/panoramas/{w.panorama.pk}/", None, ALL_200),
    Case(
        "panorama upload",
        "post",
        lambda w: "/api/panoramas/",
        lambda w: {"project": w.project.pk, "files": [_upload_file()]},
        only({"manager": 201, "admin": 201}),
        multipart=True,
    ),
    Case(
        "panorama assign",
        "patch",
        lambda w: f"/api/panoramas/{w.panorama.pk}/",
        lambda w: {"assignees": [u.username for u in w.panorama.assignees.all()]},
        only({"manager": 200, "admin": 200}),
    ),
    Case(
        "panorama delete",
        "delete",
        lambda w: f"/api/panoramas/{w.panorama.pk}/",
        None,
        only({"manager": 204, "admin": 204}),
    ),
    Case(
        "panorama image", "get", lambda w: f"/api/panoramas/{w.panorama.pk}/image/", None, ALL_200
    ),
    Case(
        "panorama thumbnail",
        "get",
        lambda w: f"/api/panoramas/{w.panorama.pk}/thumbnail/",
        None,
        ALL_200,
    ),
    Case(
        "panorama instances read",
        "get",
        lambda w: f"/api/panoramas/{w.panorama.pk}/instances/",
        None,
        ALL_200,
    ),
    Case(
        "panorama bulk save",
        "put",
        lambda w: f"/api/panoramas/{w.panorama.pk}/instances/",
        bulk_body,
        only({"manager": 200, "annotator": 200, "reviewer": 200, "admin": 200}),
    ),
    Case("instance retrieve", "get", lambda w: f"/api/instances/{w.instance.pk}/", None, ALL_200),
    Case(
        "instance create",
        "post",
        lambda w: "/api/instances/",
        lambda w: {
            "panorama": w.panorama.pk,
            "label_class": w.label_class.pk,
            "geometry": square_geometry(60, 0),
            "revision": w.panorama.revision,
        },
        only({"manager": 201, "annotator": 201, "reviewer": 201, "admin": 201}),
    ),
    Case(
        "instance update",
        "patch",
        lambda w: f"/api/instances/{w.instance.pk}/",
        lambda w: {"geometry": square_geometry(-40, 0), "revision": w.panorama.revision},
        only({"manager": 200, "annotator": 200, "reviewer": 200, "admin": 200}),
    ),
    Case(
        "instance delete",
        "delete",
        lambda w: f"/api/instances/{w.instance.pk}/?revision={w.panorama.revision}",
        None,
        only({"manager": 200, "annotator": 200, "reviewer": 200, "admin": 200}),
    ),
    Case(
        "submit",
        "post",
        lambda w: f"/api/panoramas/{w.panorama.pk}/submit/",
        lambda w: {},
        only({"manager": 200, "annotator": 200, "reviewer": 200, "admin": 200}),
    ),
    Case(
        "approve (not yet submitted: wrong state)",
        "post",
        lambda w: f"/api/panoramas/{w.panorama.pk}/approve/",
        lambda w: {},
        only({"manager": 409, "reviewer": 409, "admin": 409}),
    ),
    Case(
        "panorama events", "get", lambda w: f"/api/panoramas/{w.panorama.pk}/events/", None, ALL_200
    ),
    # the workflow state decides who may write
    *[
        Case(
            f"{name} ({state})",
            method,
            url,
            body,
            {role: ok if code == 200 else code for role, code in expected.items()},
            state=state,
        )
        for state, expected in [("submitted", SUBMITTED_WRITE), ("approved", APPROVED_WRITE)]
        for name, method, url, body, ok in [
            (
                "bulk save",
                "put",
                lambda w: f"/api/panoramas/{w.panorama.pk}/instances/",
                bulk_body,
                200,
            ),
            (
                "instance create",
                "post",
                lambda w: "/api/instances/",
                lambda w: {
                    "panorama": w.panorama.pk,
                    "label_class": w.label_class.pk,
                    "geometry": square_geometry(60, 0),
                    "revision": w.panorama.revision,
                },
                201,
            ),
            (
                "instance update",
                "patch",
                lambda w: f"/api/instances/{w.instance.pk}/",
                lambda w: {"label_class": w.label_class.pk, "revision": w.panorama.revision},
                200,
            ),
            (
                "instance delete",
                "delete",
                lambda w: f"/api/instances/{w.instance.pk}/?revision={w.panorama.revision}",
                None,
                200,
            ),
            (
                "suggestions accept",
                "post",
                lambda w: "/api/prelabel/suggestions/accept/",
                lambda w: {"panorama": w.panorama.pk, "revision": w.panorama.revision, "ids": []},
                200,
            ),
        ]
    ],
    Case(
        "submit (already submitted: wrong state)",
        "post",
        lambda w: f"/api/panoramas/{w.panorama.pk}/submit/",
        lambda w: {},
        only({"manager": 409, "annotator": 409, "reviewer": 409, "admin": 409}),
        state="submitted",
    ),
    Case(
        "reopen without a reason",
        "post",
        lambda w: f"/api/panoramas/{w.panorama.pk}/reopen/",
        lambda w: {},
        only({"manager": 400, "admin": 400}),
        state="approved",
    ),
    Case(
        "reopen with a reason",
        "post",
        lambda w: f"/api/panoramas/{w.panorama.pk}/reopen/",
        lambda w: {"comment": "the tram stop was missed"},
        only({"manager": 200, "admin": 200}),
        state="approved",
    ),
    Case(
        "reject an approved panorama",
        "post",
        lambda w: f"/api/panoramas/{w.panorama.pk}/reject/",
        lambda w: {"comment": "wrong class on the van"},
        only({"manager": 200, "reviewer": 200, "admin": 200}),
        state="approved",
    ),
]


def _upload_file():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("new.jpg", panorama_bytes(64, 32, seed=99), "image/jpeg")


@pytest.fixture
def role_users(db):
    users = {role: make_user(role) for role in ROLES if role != "admin"}
    users["admin"] = make_user("admin", staff=True)
    make_user("newcomer")
    return users


def _call(client, case: Case, world: World):
    if case.state is not None:
        Panorama.objects.filter(pk=world.panorama.pk).update(status=case.state)
        world.panorama.refresh_from_db()
    body = case.body(world) if case.body else None
    url = case.url(world)
    if case.multipart:
        return getattr(client, case.method)(url, body, format="multipart")
    return getattr(client, case.method)(url, body, format="json")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_own_project(case: Case, role: str, role_users, client_for):
    members = {r: u for r, u in role_users.items() if r != "admin"}
    world = build_world("own", members)
    response = _call(client_for(role_users[role]), case, world)
    assert response.status_code == case.own[role], (case.name, role, response.content[:300])


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_foreign_project(case: Case, role: str, role_users, client_for):
    members = {r: u for r, u in role_users.items() if r != "admin"}
    build_world("own", members)
    foreign = build_world(
        "foreign", {"manager": make_user("stranger"), "annotator": make_user("stranger2")}
    )
    response = _call(client_for(role_users[role]), case, foreign)
    expected = case.own[role] if role == "admin" else case.foreign
    assert response.status_code == expected, (case.name, role, response.content[:300])


def test_annotator_cannot_write_unassigned_panorama(role_users, client_for):
    members = {r: u for r, u in role_users.items() if r != "admin"}
    world = build_world("own", members)
    other = make_panorama(world.project, seed=5)
    client = client_for(role_users["annotator"])
    response = client.put(
        f"/api/panoramas/{other.pk}/instances/",
        {"revision": other.revision, "instances": []},
        format="json",
    )
    assert response.status_code == 403
    assert client.get(f"/api/panoramas/{other.pk}/instances/").status_code == 200


def test_lists_show_only_own_projects(role_users, client_for):
    members = {r: u for r, u in role_users.items() if r != "admin"}
    own = build_world("own", members)
    foreign = build_world("foreign", {"manager": make_user("stranger")})
    for role in ["manager", "annotator", "reviewer", "viewer"]:
        client = client_for(role_users[role])
        for url, key in [
            ("/api/projects/", "results"),
            ("/api/panoramas/", "results"),
            ("/api/instances/", "results"),
            ("/api/memberships/", "results"),
        ]:
            data = client.get(url).json()
            rows = data[key] if isinstance(data, dict) else data
            projects = {row.get("project", row.get("id")) for row in rows}
            assert foreign.project.pk not in projects or url == "/api/instances/", (role, url)
        ids = {row["id"] for row in client.get("/api/instances/").json()["results"]}
        assert own.instance.pk in ids and foreign.instance.pk not in ids
        classes = client.get("/api/classes/").json()
        assert {c["project"] for c in classes} == {own.project.pk}


@pytest.mark.parametrize(
    "url",
    ["/api/projects/", "/api/panoramas/", "/api/instances/", "/api/classes/", "/api/memberships/"],
)
def test_anonymous_is_refused(url, client_for, db):
    assert client_for(None).get(url).status_code in {401, 403}


def test_only_admin_creates_projects(role_users, client_for):
    assert (
        client_for(role_users["manager"]).post("/api/projects/", {"name": "x"}).status_code == 403
    )
    response = client_for(role_users["admin"]).post("/api/projects/", {"name": "x"})
    assert response.status_code == 201
