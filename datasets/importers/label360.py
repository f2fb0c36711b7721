"""Import of Label360 JSON (lossless: the inverse of ``exporters.label360``).

Panoramas are matched by sha256 within the target project; a panorama that is missing
there is created from the image in the archive (``image`` member), else skipped. Classes
are matched by name (missing ones are created with the file's colour/flags). Authorship is
matched by username (unknown users become empty, with a warning). Instances, statuses,
assignees, timestamps and model provenance are restored; the review history is restored for
panoramas the import creates. Revisions are local locking counters: each imported panorama's
revision is bumped (never set back).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model

from annotations.models import Instance, Panorama, Project, ReviewEvent

from .common import (
    ImportFailed,
    ImportReport,
    Source,
    StoredFiles,
    all_skipped,
    check_geometry,
    class_map,
    class_name_problem,
    ensure_class,
    find_panorama,
    locked_reason,
    replace_panorama_instances,
    run_atomically,
)

INSTANCE_SOURCES = {"manual", "model", "import"}


def import_label360(
    project: Project,
    path: str,
    user=None,
    replace: bool = True,
    strict: bool = False,
    create_classes: bool = True,
    report: ImportReport | None = None,
) -> ImportReport:
    """Import a ``label360.json`` file or export zip into ``project``."""
    report = report or ImportReport(format="label360")
    try:
        source = Source(path, ("label360.json",))
        data = source.load_json()
    except ImportFailed as exc:
        report.error = str(exc)
        return report
    try:
        if not isinstance(data, dict) or data.get("format") != "label360":
            report.error = "not a Label360 JSON file (format != 'label360')"
            return report
        if data.get("version") != 1:
            report.error = f"unsupported Label360 JSON version {data.get('version')!r}"
            return report
        try:
            plan = _plan(project, data, source, report, create_classes)
        except ImportFailed as exc:
            report.error = str(exc)
            return report
        files = StoredFiles()
        return run_atomically(
            report, strict, files, lambda: _write(project, plan, files, report, user, replace)
        )
    finally:
        source.close()


def _instance_problem(inst: dict) -> str | None:
    """Why an instance entry's fields (other than class and geometry) cannot be stored."""
    order = inst.get("order", 0)
    if not isinstance(order, int) or isinstance(order, bool) or not 0 <= order < 2**31:
        return f"order must be an integer in 0..2^31, got {order!r}"
    score = inst.get("score")
    if score is not None and (
        not isinstance(score, int | float) or isinstance(score, bool) or not math.isfinite(score)
    ):
        return f"score must be a finite number or null, got {score!r}"
    version = inst.get("model_version") or ""
    if not isinstance(version, str) or len(version) > 200:
        return "model_version must be a string of at most 200 characters"
    if not isinstance(inst.get("attributes") or {}, dict):
        return "attributes must be an object"
    if not isinstance(inst.get("is_suggestion", False), bool):
        return "is_suggestion must be true or false"
    if inst.get("source", "manual") not in INSTANCE_SOURCES:
        return f"unknown source {inst.get('source')!r}"
    return None


def _class_problem(c: dict) -> str | None:
    problem = class_name_problem(c.get("name"))
    if problem:
        return problem
    for key in ("is_ignore", "is_group"):
        if not isinstance(c.get(key, False), bool):
            return f"{key} must be true or false"
    order = c.get("order", 0)
    if not isinstance(order, int) or isinstance(order, bool) or not 0 <= order < 2**31:
        return f"order must be an integer in 0..2^31, got {order!r}"
    return None


def _plan(project, data, source, report, create_classes) -> dict[str, Any]:
    classes = {}
    for k, c in enumerate(data.get("classes") or []):
        problem = _class_problem(c) if isinstance(c, dict) else "a class must be an object"
        if problem:
            report.skip(f"classes[{k}]", problem)
            continue
        classes[c["name"]] = c
    existing = class_map(project)
    panoramas = []
    entries = data.get("panoramas") or []
    if not isinstance(entries, list):
        raise ImportFailed("'panoramas' must be a list")
    for p, entry in enumerate(entries):
        report.tick(p + 1, len(entries), "panoramas")
        where = f"panoramas[{p}]"
        if not isinstance(entry, dict):
            report.skip(where, "not an object")
            continue
        where = f"panoramas[{p}] ({entry.get('original_name', '?')})"
        sha = entry.get("sha256") if isinstance(entry.get("sha256"), str) else None
        pano = find_panorama(project, sha, None)
        image = None
        if pano is None:
            image = source.read(entry.get("image") or "")
            if image is None:
                report.skip(
                    where, "no panorama with this sha256 in the project and no image in the file"
                )
                continue
        locked = locked_reason(pano)
        if locked:
            report.skip(where, locked)
            continue
        if pano is not None and (pano.width, pano.height) != (
            entry.get("width"),
            entry.get("height"),
        ):
            report.skip(where, "image size differs from the panorama with the same sha256")
            continue
        problem = _panorama_problem(entry)
        if problem:
            report.skip(where, problem)
            continue
        instances = []
        raw = entry.get("instances") or []
        if not isinstance(raw, list):
            report.skip(where, "instances must be a list")
            continue
        skipped_before = len(report.skipped)
        for i, inst in enumerate(raw):
            iw = f"{where} instances[{i}]"
            if not isinstance(inst, dict):
                report.skip(iw, "not an object")
                continue
            name = inst.get("class")
            if not isinstance(name, str) or (
                name not in existing and not (create_classes and name in classes)
            ):
                report.skip(iw, f"unknown class {name!r}")
                continue
            geometry, problem = check_geometry(inst.get("geometry"))
            if problem:
                report.skip(iw, f"invalid geometry: {problem}")
                continue
            problem = _instance_problem(inst)
            if problem:
                report.skip(iw, problem)
                continue
            instances.append({**inst, "geometry": geometry})
        panoramas.append(
            {
                "entry": entry,
                "panorama": pano,
                "image": image,
                "instances": instances,
                "skipped": len(report.skipped) - skipped_before,
                "where": where,
            }
        )
    return {"classes": classes if create_classes else {}, "panoramas": panoramas}


def _panorama_problem(entry: dict) -> str | None:
    pose = entry.get("pose") or {}
    if not isinstance(pose, dict):
        return "pose must be an object"
    for key in ("heading", "pitch", "roll"):
        value = pose.get(key)
        if value is not None and (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not math.isfinite(value)
        ):
            return f"pose {key} must be a finite number or null, got {value!r}"
    if not isinstance(entry.get("metadata") or {}, dict):
        return "metadata must be an object"
    events = entry.get("events") or []
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        return "events must be a list of objects"
    for k, e in enumerate(events):
        revision = e.get("revision", 0)
        if not isinstance(revision, int) or isinstance(revision, bool) or not 0 <= revision < 2**31:
            return f"events[{k}]: revision must be an integer, got {revision!r}"
        if e.get("action", "submit") not in {
            a for a, _ in ReviewEvent._meta.get_field("action").choices
        }:
            return f"events[{k}]: unknown action {e.get('action')!r}"
        if not isinstance(e.get("comment", ""), str):
            return f"events[{k}]: comment must be a string"
    if not isinstance(entry.get("assignees") or [], list):
        return "assignees must be a list of user names"
    return None


def _stamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _write(project, plan, files: StoredFiles, report: ImportReport, user, replace: bool) -> None:
    User = get_user_model()
    users: dict[str, Any] = {}

    def user_named(name: object):
        if not isinstance(name, str) or not name or len(name) > 150:
            return None
        if name not in users:
            users[name] = User.objects.filter(username=name).first()
            if users[name] is None:
                report.warnings.append(f"unknown user {name!r}: authorship left empty")
        return users[name]

    classes = class_map(project)
    for name, c in plan["classes"].items():
        if name not in classes:
            ensure_class(
                project,
                classes,
                name,
                report,
                True,
                color=c.get("color", "#ff0000"),
                order=c.get("order", len(classes)),
                is_ignore=bool(c.get("is_ignore")),
                is_group=bool(c.get("is_group")),
            )
    for item in plan["panoramas"]:
        report.check_cancelled()
        entry, pano = item["entry"], item["panorama"]
        if all_skipped(report, item["where"], item["skipped"], len(item["instances"])):
            continue
        created = pano is None
        if created:
            pano = files.store(
                project, entry.get("original_name") or "panorama", item["image"], user
            )
            report.panoramas_created += 1
        else:
            report.panoramas_updated += 1
        instances = []
        for inst in item["instances"]:
            cls = classes[inst["class"]]
            obj = Instance(
                label_class=cls,
                geometry=inst["geometry"],
                source=inst.get("source", "manual"),
                is_suggestion=bool(inst.get("is_suggestion", False)),
                score=inst.get("score"),
                model_version=inst.get("model_version") or "",
                order=int(inst.get("order", 0)),
                attributes=inst.get("attributes") or {},
                created_by=user_named(inst.get("created_by")),
                updated_by=user_named(inst.get("updated_by")),
            )
            created_at, updated_at = _stamp(inst.get("created_at")), _stamp(inst.get("updated_at"))
            if created_at and updated_at:
                obj._stamp = (created_at, updated_at)
            instances.append(obj)
        replace_panorama_instances(pano, instances, replace, report)
        report.instances_created += len(instances)
        _restore_panorama(pano, entry, created, user_named)


def _restore_panorama(pano: Panorama, entry: dict, created: bool, user_named) -> None:
    pose = entry.get("pose") or {}
    fields: dict[str, Any] = {}
    if entry.get("status") in {s for s, _ in Panorama._meta.get_field("status").choices}:
        fields["status"] = entry["status"]
    if isinstance(entry.get("metadata"), dict) and entry["metadata"]:
        fields["metadata"] = entry["metadata"]
    for key in ("heading", "pitch", "roll"):
        if pose.get(key) is not None:
            fields[f"pose_{key}"] = pose[key]
    if fields:
        Panorama.objects.filter(pk=pano.pk).update(**fields)
    names = [n for n in entry.get("assignees") or [] if isinstance(n, str)]
    assignees = [u for u in (user_named(n) for n in names) if u]
    if assignees:
        pano.assignees.add(*assignees)
    if created:
        for e in entry.get("events") or []:
            event = ReviewEvent.objects.create(
                panorama=pano,
                user=user_named(e.get("user")),
                action=e.get("action", "submit"),
                comment=e.get("comment", ""),
                revision=int(e.get("revision", 0)),
            )
            stamp = _stamp(e.get("created_at"))
            if stamp:
                ReviewEvent.objects.filter(pk=event.pk).update(created_at=stamp)
