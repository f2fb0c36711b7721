"""Property-based fuzz test over every write endpoint of the OpenAPI schema: no 5xx.

For each POST/PUT/PATCH/DELETE of the generated schema, hypothesis builds requests from the
operation's request schema — with real ids of existing objects, and with hostile values
mixed in at every level: ``1e400``, 400-digit integers, ``NaN``, ``\\u0000``, lone
surrogates, nesting 1,000 levels deep, empty rings, over-long text — as JSON, form or
multipart bodies, as an administrator, a project member or anonymously. Every answer must be
below 500 (the test client re-raises a view's exception, which fails the example too). Each
example runs in a savepoint that is rolled back, so every example starts from the same data.

``FUZZ_EXAMPLES`` (environment) sets the examples per operation (default 5, about a minute).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from annotations.models import Instance
from tests.factories import make_panorama, square_geometry

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
WRITE_METHODS = ("post", "put", "patch", "delete")


class Raw:
    """JSON text sent verbatim (what json.dumps cannot write: 1e400, 400 digits, deep)."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return f"Raw({self.text[:40]!r}{'…' if len(self.text) > 40 else ''})"


def to_json(value) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    return json.dumps(value)  # ensure_ascii: NUL and lone surrogates become \u escapes


DEEP = Raw("[" * 1000 + "]" * 1000)
DEEP_OBJECT = Raw('{"a":' * 1000 + "1" + "}" * 1000)
hostile_numbers = st.sampled_from(
    [Raw("1e400"), Raw("-1e400"), Raw("9" * 400), Raw("-" + "9" * 400), Raw("NaN"),
     Raw("Infinity"), Raw("9223372036854775808"), Raw("1" * 5000), -1, 0, 2**31, 1.5]
)  # fmt: skip
hostile_text = st.sampled_from(
    ["\x00", "a\x00b", "\ud800", "x\udfffy", "x" * 5000, "", " ", "🙂", "<script>", "../../x"]
)
hostile = st.one_of(hostile_numbers, hostile_text, st.sampled_from([DEEP, DEEP_OBJECT, None]))
SQUARE = square_geometry()[0][0]
geometries = st.sampled_from(
    [square_geometry(), [[SQUARE], [[]]], [[[]]], [], [[SQUARE, []]], [[[[1, 2], [3, 4]]]],
     [[[[Raw("1e400"), 0], [10, 0], [10, 10]]]], [[[[0, 0]] * 20000]], "x", {"a": 1}]
)  # fmt: skip
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 50), st.floats(-1e6, 1e6), st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


@dataclass(frozen=True)
class Operation:
    path: str
    method: str
    content_types: tuple[str, ...]
    body: dict | None

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


@lru_cache(maxsize=1)
def schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def operations() -> list[Operation]:
    found = []
    for path, ops in schema()["paths"].items():
        for method, op in ops.items():
            if method not in WRITE_METHODS:
                continue
            content = op.get("requestBody", {}).get("content", {})
            body = next(iter(content.values()), {}).get("schema") if content else None
            found.append(Operation(path, method, tuple(content), body))
    return found


def resolve(node: dict) -> dict:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = schema()["components"]["schemas"][name]
    return node


def from_schema(node: dict | None, ids, depth: int = 0, name: str = ""):
    """A strategy of values for a JSON schema node, with hostile values at every level."""
    if node is None:
        return json_values
    node = resolve(node)
    if name == "geometry":
        return st.one_of(geometries, hostile)
    for key in ("oneOf", "anyOf", "allOf"):
        if key in node:
            return st.one_of([from_schema(n, ids, depth + 1, name) for n in node[key]])
    kind = node.get("type")
    if "enum" in node:
        plain = st.sampled_from([v for v in node["enum"] if v is not None] or [None])
    elif kind == "object" or "properties" in node:
        props = node.get("properties", {})
        required = set(node.get("required", []))
        fields = {k: from_schema(v, ids, depth + 1, k) for k, v in props.items()}
        plain = st.fixed_dictionaries(
            {k: s for k, s in fields.items() if k in required},
            optional={k: s for k, s in fields.items() if k not in required},
        )
        if not props:
            plain = st.dictionaries(st.text(max_size=6), json_values, max_size=3)
    elif kind == "array":
        item = from_schema(node.get("items"), ids, depth + 1, name)
        plain = st.lists(item, max_size=3 if depth < 4 else 1)
    elif kind == "integer":
        plain = st.one_of(ids, st.integers(-2, 300))
    elif kind == "number":
        plain = st.floats(-1e6, 1e6)
    elif kind == "boolean":
        plain = st.booleans()
    elif kind == "string":
        plain = st.text(max_size=20)
    else:
        plain = json_values
    return st.one_of(plain, plain, hostile)


def _wire(text: str) -> str:
    """What a form field can carry: a lone surrogate is not UTF-8, so it arrives as the
    bytes a client would send for it, which the server decodes with replacement marks."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def flat_form(value) -> dict:
    """A form/multipart body: top-level fields as text (NUL and the like survive as is)."""
    if not isinstance(value, dict):
        return {"value": _wire(to_json(value))}
    form = {}
    for key, item in value.items():
        key = _wire(str(key))
        if isinstance(item, str):
            form[key] = _wire(item)
        elif isinstance(item, list) and all(isinstance(i, int | str) for i in item):
            form[key] = [_wire(str(i)) for i in item]
        else:
            form[key] = _wire(to_json(item))
    return form


@pytest.fixture
def world(users, project, panorama, foreign_project):
    """Objects for every resource the schema names, so ids in paths and bodies hit real rows."""
    from datasets.models import AgreementRound
    from inference.models import Job

    label_class = project.classes.first()
    instance = Instance.objects.create(
        panorama=panorama, label_class=label_class, geometry=square_geometry()
    )
    suggestion = Instance.objects.create(
        panorama=panorama, label_class=label_class, geometry=square_geometry(30),
        is_suggestion=True, score=0.9, source="model",
    )  # fmt: skip
    round_ = AgreementRound.objects.create(project=project, name="r", created_by=users["admin"])
    round_.panoramas.add(panorama)
    round_.annotators.add(users["annotator"])
    job = Job.objects.create(kind="depth", project=project, status="failed")
    other = make_panorama(foreign_project, seed=9)
    ids = sorted(
        {project.pk, panorama.pk, label_class.pk, instance.pk, suggestion.pk, round_.pk,
         job.pk, other.pk, foreign_project.pk, *(u.pk for u in users.values()),
         *project.memberships.values_list("pk", flat=True)}
    )  # fmt: skip
    return users, ids


def path_values(ids):
    return st.one_of(
        st.sampled_from([str(i) for i in ids]),
        st.sampled_from(["0", "-1", "9" * 30, "1e400", "x", "depth", "%00"]),
    )


def request_strategy(op: Operation, ids):
    id_values = st.sampled_from(ids)
    names = [part[1:-1] for part in op.path.split("/") if part.startswith("{")]
    params = st.fixed_dictionaries({n: path_values(ids) for n in names})
    if op.body is None and not op.content_types:
        body = st.none()
    elif op.content_types == ("application/octet-stream",):
        body = st.binary(max_size=64)
    else:
        body = st.one_of(
            from_schema(op.body, id_values), st.sampled_from([DEEP, DEEP_OBJECT]), hostile
        )
    kinds = [c for c in op.content_types if c != "application/octet-stream"] or ["none"]
    if op.content_types == ("application/octet-stream",):
        kinds = ["application/octet-stream"]
    return st.tuples(
        params,
        body,
        st.sampled_from(kinds),
        st.sampled_from(["admin", "admin", "manager", "annotator", "viewer", None]),
        st.sampled_from([None, '"1"', '"abc"', '"' + "9" * 30 + '"', "\x00"]),
    )


def send(client: APIClient, op: Operation, params, body, kind, if_match):
    path = op.path
    for name, value in params.items():
        path = path.replace("{" + name + "}", value)
    headers = {}
    if if_match is not None:
        headers["HTTP_IF_MATCH"] = if_match
    method = getattr(client, op.method)
    if kind == "application/json":
        return method(path, to_json(body), content_type=kind, **headers)
    if kind == "application/octet-stream":
        return method(path, body or b"", content_type=kind, **headers)
    if kind == "none":
        return method(path, **headers)
    form = flat_form(body)
    if kind == "multipart/form-data":
        for key in ("file", "files", "video"):
            if key in form or (isinstance(body, dict) and key in body):
                form[key] = SimpleUploadedFile("f.jpg", b"\xff\xd8\xff\xe0" + b"0" * 40)
        return method(path, form, format="multipart", **headers)
    from urllib.parse import urlencode

    return method(path, urlencode(form, doseq=True), content_type=kind, **headers)


def test_no_write_endpoint_answers_5xx(world):
    users, ids = world
    clients = {None: APIClient()}
    for role in ("admin", "manager", "annotator", "viewer"):
        clients[role] = APIClient()
        clients[role].force_authenticate(users[role])
    ops = operations()
    assert len(ops) > 40, [str(o) for o in ops]
    seen: dict[str, set[int]] = {}

    def fuzz(op: Operation):
        @settings_for_fuzz
        @given(request=request_strategy(op, ids))
        def check(request):
            params, body, kind, role, if_match = request
            with transaction.atomic():
                response = send(clients[role], op, params, body, kind, if_match)
                transaction.set_rollback(True)
            seen.setdefault(str(op), set()).add(response.status_code)
            assert response.status_code < 500, (
                f"{op} as {role} ({kind}) -> {response.status_code}: {response.content[:500]!r}"
            )

        check()

    failures = []
    for op in ops:
        try:
            fuzz(op)
        except Exception as exc:  # keep going: one report naming every failing operation
            failures.append(f"{op}: {type(exc).__name__}: {str(exc)[:300]}")
    assert failures == [], "\n".join(failures)
    assert len(seen) == len(ops)


settings_for_fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much, HealthCheck.large_base_example],
)  # fmt: skip
