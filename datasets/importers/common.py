"""Shared pieces of the importers: the report, reading archives, the transactional write.

Transaction policy: one transaction per import. The whole file is parsed and validated
first; a file that cannot be read at all imports nothing. Items with problems (unknown
class, invalid geometry, missing image, ...) are skipped and listed in the report with the
reason, and everything else is written in a single transaction — or nothing at all with
``strict=True`` as soon as one item was skipped. An error while writing rolls the whole
import back (and deletes any image files it had stored).
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import Any

from django.db import transaction

from annotations.geometry import geometry_errors, normalise
from annotations.models import Instance, LabelClass, Panorama, Project
from annotations.services import write_annotations
from annotations.uploads import UploadRejected, store_panorama


class ImportFailed(Exception):
    """The file as a whole cannot be imported (nothing was written)."""


@dataclass
class ImportReport:
    """What an import did and what it skipped (and why)."""

    format: str
    committed: bool = False
    panoramas_created: int = 0
    panoramas_updated: int = 0
    instances_created: int = 0
    classes_created: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None

    def skip(self, where: str, reason: str) -> None:
        self.skipped.append({"where": where, "reason": reason})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Source:
    """A .json file or a .zip archive (JSON plus images) to import from."""

    def __init__(self, path: str, json_names: tuple[str, ...]) -> None:
        self.path = path
        self.archive: zipfile.ZipFile | None = None
        if zipfile.is_zipfile(path):
            self.archive = zipfile.ZipFile(path)
            names = self.archive.namelist()
            chosen = next((n for n in json_names if n in names), None)
            if chosen is None:
                chosen = next((n for n in names if n.endswith(".json")), None)
            if chosen is None:
                raise ImportFailed("the archive holds no JSON file")
            self.json_name = chosen
        else:
            self.json_name = os.path.basename(path)

    def load_json(self) -> Any:
        try:
            if self.archive is not None:
                with self.archive.open(self.json_name) as handle:
                    return json.load(handle)
            with open(self.path, "rb") as handle:
                return json.load(handle)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ImportFailed(f"not valid JSON: {exc}") from exc

    def read(self, name: str) -> bytes | None:
        """Bytes of an archive member (relative to the JSON file or the root), or None."""
        if self.archive is None or not name:
            return None
        base = PurePosixPath(self.json_name).parent
        for candidate in (str(base / name), name, name.lstrip("/")):
            try:
                return self.archive.read(candidate)
            except KeyError:
                continue
        return None

    def close(self) -> None:
        if self.archive is not None:
            self.archive.close()


def check_geometry(geometry: Any) -> tuple[list | None, str | None]:
    """(normalised geometry, None) or (None, reason)."""
    problems = geometry_errors(geometry)
    if problems:
        return None, "; ".join(problems[:3])
    return normalise(geometry), None


def class_map(project: Project) -> dict[str, LabelClass]:
    return {c.name: c for c in LabelClass.objects.filter(project=project)}


def ensure_class(
    project: Project,
    classes: dict[str, LabelClass],
    name: str,
    report: ImportReport,
    create: bool,
    **fields: Any,
) -> LabelClass | None:
    if name in classes:
        return classes[name]
    if not create:
        return None
    order = fields.pop("order", len(classes))
    cls = LabelClass.objects.create(project=project, name=name, order=order, **fields)
    classes[name] = cls
    report.classes_created.append(name)
    return cls


def find_panorama(project: Project, sha256: str | None, name: str | None) -> Panorama | None:
    if sha256:
        pano = Panorama.objects.filter(project=project, sha256=sha256).first()
        if pano is not None:
            return pano
    if name:
        base = os.path.basename(name)
        matches = list(Panorama.objects.filter(project=project, original_name=base)[:2])
        if len(matches) == 1:
            return matches[0]
    return None


class StoredFiles:
    """Panoramas stored during an import, so their files can be removed on rollback."""

    def __init__(self) -> None:
        self.names: list[tuple[Any, str]] = []

    def store(self, project: Project, name: str, data: bytes, user) -> Panorama:
        sha = hashlib.sha256(data).hexdigest()
        existing = Panorama.objects.filter(project=project, sha256=sha).first()
        if existing is not None:
            return existing
        pano = store_panorama(project, name, data, user)
        self.names.append((pano.image.storage, pano.image.name))
        return pano

    def delete_all(self) -> None:
        for storage, name in self.names:
            try:
                storage.delete(name)
            except OSError:
                pass


def replace_panorama_instances(
    pano: Panorama, instances: list[Instance], replace: bool
) -> list[Instance]:
    """Write a panorama's imported instances through the revision-checked write path.

    Keeps imported timestamps (auto_now would overwrite them on create).
    """

    def change(locked: Panorama) -> list[Instance]:
        if replace:
            Instance.objects.filter(panorama=locked).delete()
        for inst in instances:
            inst.panorama = locked
        created = Instance.objects.bulk_create(instances)
        stamped = [i for i in created if getattr(i, "_stamp", None)]
        for inst in stamped:
            inst.created_at, inst.updated_at = inst._stamp
        if stamped:
            Instance.objects.bulk_update(stamped, ["created_at", "updated_at"])
        return created

    pano.refresh_from_db(fields=["revision"])
    created, _ = write_annotations(pano, pano.revision, change)
    return created


def run_atomically(report: ImportReport, strict: bool, files: StoredFiles, write) -> ImportReport:
    """Run ``write()`` in one transaction, honouring ``strict``; fill the report."""
    if strict and report.skipped:
        report.error = f"strict import: {len(report.skipped)} item(s) would be skipped"
        return report
    try:
        with transaction.atomic():
            write()
    except UploadRejected as exc:
        files.delete_all()
        report.error = f"image rejected: {exc.reason}"
        _reset_counts(report)
        return report
    except Exception as exc:
        files.delete_all()
        report.error = f"import rolled back: {exc}"
        _reset_counts(report)
        return report
    report.committed = True
    return report


def _reset_counts(report: ImportReport) -> None:
    report.panoramas_created = report.panoramas_updated = report.instances_created = 0
    report.classes_created = []
