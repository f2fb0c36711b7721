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

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model

from annotations.models import Instance, Panorama, Project, ReviewEvent

from .common import (
    ImportFailed,
    ImportReport,
    Source,
    StoredFiles,
    check_geometry,
    class_map,
    ensure_class,
    find_panorama,
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
) -> ImportReport:
    """Import a ``label360.json`` file or export zip into ``project``."""
    report = ImportReport(format="label360")
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
        plan = _plan(project, data, source, report, create_classes)
        files = StoredFiles()
        return run_atomically(
            report, strict, files, lambda: _write(project, plan, files, report, user, replace)
        )
    finally:
        source.close()


def _plan(project, data, source, report, create_classes) -> dict[str, Any]:
    classes = {}
    for k, c in enumerate(data.get("classes") or []):
        if not isinstance(c, dict) or not isinstance(c.get("name"), str):
            report.skip(f"classes[{k}]", "a class needs a name")
            continue
        classes[c["name"]] = c
    existing = class_map(project)
    panoramas = []
    for p, entry in enumerate(data.get("panoramas") or []):
        where = f"panoramas[{p}]"
        if not isinstance(entry, dict):
            report.skip(where, "not an object")
            continue
        where = f"panoramas[{p}] ({entry.get('original_name', '?')})"
        pano = find_panorama(project, entry.get("sha256"), None)
        image = None
        if pano is None:
            image = source.read(entry.get("image") or "")
            if image is None:
                report.skip(
                    where, "no panorama with this sha256 in the project and no image in the file"
                )
                continue
        if pano is not None and (pano.width, pano.height) != (
            entry.get("width"),
            entry.get("height"),
        ):
            report.skip(where, "image size differs from the panorama with the same sha256")
            continue
        instances = []
        for i, inst in enumerate(entry.get("instances") or []):
            iw = f"{where} instances[{i}]"
            if not isinstance(inst, dict):
                report.skip(iw, "not an object")
                continue
            name = inst.get("class")
            if name not in existing and not (create_classes and name in classes):
                report.skip(iw, f"unknown class {name!r}")
                continue
            geometry, problem = check_geometry(inst.get("geometry"))
            if problem:
                report.skip(iw, f"invalid geometry: {problem}")
                continue
            if inst.get("source", "manual") not in INSTANCE_SOURCES:
                report.skip(iw, f"unknown source {inst.get('source')!r}")
                continue
            instances.append({**inst, "geometry": geometry})
        panoramas.append({"entry": entry, "panorama": pano, "image": image, "instances": instances})
    return {"classes": classes if create_classes else {}, "panoramas": panoramas}


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

    def user_named(name: str | None):
        if not name:
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
        entry, pano = item["entry"], item["panorama"]
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
        replace_panorama_instances(pano, instances, replace)
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
    assignees = [u for u in (user_named(n) for n in entry.get("assignees") or []) if u]
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
