"""Shared pieces of the importers: the report, reading archives, the transactional write.

Transaction policy: one transaction per import. The whole file is parsed and validated
first; a file that cannot be read at all imports nothing. Items with problems (unknown
class, invalid geometry, missing image, ...) are skipped and listed in the report with the
reason, and everything else is written in a single transaction — or nothing at all with
``strict=True`` as soon as one item was skipped. An error while writing rolls the whole
import back (and deletes any image files it had stored); so does a cancellation. An import
that would write nothing at all is refused with the reason.

Re-importing is idempotent by default: panoramas are matched (by image checksum, then name)
and their instances replaced by the file's; ``replace=False`` (``--append``) adds them. A
panorama whose instances in the file were ALL skipped is left exactly as it is (not emptied,
not created), with a warning: unreadable labels never erase good ones.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import PurePosixPath
from typing import Any

from django.db import transaction

from annotations.geometry import geometry_errors, normalise
from annotations.models import Instance, LabelClass, Panorama, Project
from annotations.services import write_annotations
from annotations.uploads import UploadRejected, store_panorama

#: Problems listed in a report shown to people (the full list goes to the report file).
REPORT_LIMIT = 100
HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
ProgressFn = Callable[[float, str], None]


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
    instances_replaced: int = 0
    classes_created: list[str] = field(default_factory=list)
    converted: dict[str, int] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    progress: ProgressFn = field(default=lambda fraction, message: None, repr=False)
    check_cancelled: Callable[[], None] = field(default=lambda: None, repr=False)

    def skip(self, where: str, reason: str) -> None:
        self.skipped.append({"where": where, "reason": reason})

    def count(self, how: str) -> None:
        self.converted[how] = self.converted.get(how, 0) + 1

    def tick(self, done: int, total: int, what: str) -> None:
        """Progress of the reading phase (the first 80%) every 200 items; a cancel point."""
        if done % 200 == 0 or done == total:
            self.check_cancelled()
            self.progress(0.8 * done / max(total, 1), f"read {done}/{total} {what}")

    def as_dict(self, limit: int | None = REPORT_LIMIT) -> dict[str, Any]:
        """The report; with ``limit``, the first ``limit`` skipped items and warnings only
        (``skipped_count``/``warnings_count`` give the totals)."""
        hooks = ("progress", "check_cancelled")
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in hooks}
        data = json.loads(json.dumps(data, default=str))  # a plain copy
        data["skipped_count"] = len(self.skipped)
        data["warnings_count"] = len(self.warnings)
        if limit is not None:
            data["skipped"] = data["skipped"][:limit]
            data["warnings"] = data["warnings"][:limit]
            data["truncated"] = len(self.skipped) > limit or len(self.warnings) > limit
        return data


def import_limit() -> int:
    """Largest import file, and largest JSON inside an archive (bytes, from settings)."""
    from django.conf import settings

    return int(getattr(settings, "LABEL360_MAX_IMPORT_BYTES", 2 * 1024**3))


class Source:
    """A .json file or a .zip archive (JSON plus images) to import from.

    Archive members are bounded before they are read (a member's declared size over the
    limit — a zip bomb — refuses the file), and names are looked up, never extracted."""

    def __init__(self, path: str, json_names: tuple[str, ...]) -> None:
        self.path = path
        self.archive: zipfile.ZipFile | None = None
        if zipfile.is_zipfile(path):
            try:
                self.archive = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise ImportFailed(f"not a readable zip archive: {exc}") from exc
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
                size = self.archive.getinfo(self.json_name).file_size
                if size > import_limit():
                    raise ImportFailed(
                        f"{self.json_name} is {size} bytes uncompressed; at most "
                        f"{import_limit()} are accepted"
                    )
                with self.archive.open(self.json_name) as handle:
                    return json.load(handle)
            with open(self.path, "rb") as handle:
                return json.load(handle)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ImportFailed(f"not valid JSON: {exc}") from exc
        except RecursionError as exc:
            raise ImportFailed("not valid JSON: nested too deeply") from exc
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise ImportFailed(f"the archive cannot be read: {exc}") from exc

    def read(self, name: Any) -> bytes | None:
        """Bytes of an archive member (relative to the JSON file or the root), or None.
        Members larger than an upload may be are refused with ImportFailed."""
        if self.archive is None or not isinstance(name, str) or not name:
            return None
        from django.conf import settings

        limit = int(getattr(settings, "LABEL360_MAX_UPLOAD_BYTES", 1024**3))
        base = PurePosixPath(self.json_name).parent
        for candidate in (str(base / name), name, name.lstrip("/")):
            try:
                info = self.archive.getinfo(candidate)
            except KeyError:
                continue
            if info.file_size > limit:
                raise ImportFailed(f"{candidate} is {info.file_size} bytes; at most {limit}")
            try:
                return self.archive.read(info)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise ImportFailed(f"{candidate} cannot be read from the archive: {exc}") from exc
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
    if not isinstance(order, int) or isinstance(order, bool):
        order = len(classes)
    color = fields.pop("color", "#ff0000")
    fields["color"] = (
        color.lower() if isinstance(color, str) and HEX_COLOR.match(color) else "#ff0000"
    )
    cls = LabelClass.objects.create(project=project, name=name[:100], order=order, **fields)
    classes[name] = cls
    report.classes_created.append(name)
    return cls


def class_name_problem(name: Any) -> str | None:
    """Why a class name from a file cannot be used, or None."""
    if not isinstance(name, str) or not name.strip():
        return "a class name must be a non-empty string"
    if len(name) > 100:
        return f"class name of {len(name)} characters; at most 100"
    if "\x00" in name:
        return "class name contains a NUL character"
    return None


def locked_reason(panorama: Panorama | None) -> str | None:
    """Why an import may not write this panorama's annotations (approved work is read-only
    until a manager reopens it), or None."""
    if panorama is None:
        return None
    from annotations.permissions import edit_lock

    return edit_lock(None, panorama)


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
    pano: Panorama, instances: list[Instance], replace: bool, report: ImportReport | None = None
) -> list[Instance]:
    """Write a panorama's imported instances through the revision-checked write path:
    ``replace`` deletes its instances first (re-importing the same file is then idempotent).

    Keeps imported timestamps (auto_now would overwrite them on create).
    """

    def change(locked: Panorama) -> list[Instance]:
        if replace:
            deleted, _ = Instance.objects.filter(panorama=locked).delete()
            if report is not None:
                report.instances_replaced += deleted
        for inst in instances:
            inst.panorama = locked
        created = Instance.objects.bulk_create(instances, batch_size=1000)
        stamped = [i for i in created if getattr(i, "_stamp", None)]
        for inst in stamped:
            inst.created_at, inst.updated_at = inst._stamp
        if stamped:
            Instance.objects.bulk_update(stamped, ["created_at", "updated_at"])
        return created

    pano.refresh_from_db(fields=["revision"])
    created, _ = write_annotations(pano, pano.revision, change)
    return created


def all_skipped(report: ImportReport, where: str, skipped: int, kept: int) -> bool:
    """True (and a warning in the report) when every one of a panorama's ``skipped`` instances
    in the file was skipped and none is ``kept``: the caller then leaves the panorama as it is
    (replacing its labels with nothing would lose work)."""
    if skipped and not kept:
        report.warnings.append(
            f"{where}: all {skipped} instance(s) were skipped; the panorama was left unchanged"
        )
        return True
    return False


def _cancelled(exc: BaseException) -> bool:
    try:
        from inference.registry import JobCancelled
    except ImportError:  # the job system is optional
        return False
    return isinstance(exc, JobCancelled)


def run_atomically(report: ImportReport, strict: bool, files: StoredFiles, write) -> ImportReport:
    """Run ``write()`` in one transaction, honouring ``strict``; fill the report.

    Nothing is committed when nothing would be written (every item skipped, or an empty
    file): the report then says why. A cancellation rolls back and propagates.
    """
    if strict and report.skipped:
        report.error = (
            f"strict import: {len(report.skipped)} item(s) would be skipped "
            f"(first: {report.skipped[0]['where']}: {report.skipped[0]['reason']})"
        )
        return report
    report.progress(0.8, "writing")
    try:
        with transaction.atomic():
            write()
            wrote = report.instances_created + report.panoramas_created + report.instances_replaced
            # classes alone count only for a file that had nothing else (a class list)
            if not wrote and (report.skipped or not report.classes_created):
                raise _NothingToImport()
    except _NothingToImport:
        files.delete_all()
        _reset_counts(report)
        if report.skipped:
            first = report.skipped[0]
            report.error = (
                f"nothing was imported: all {len(report.skipped)} item(s) were skipped "
                f"(first: {first['where']}: {first['reason']})"
            )
        else:
            report.error = "nothing was imported: the file holds no annotations"
        return report
    except UploadRejected as exc:
        files.delete_all()
        report.error = f"image rejected: {exc.reason}"
        _reset_counts(report)
        return report
    except Exception as exc:
        files.delete_all()
        if _cancelled(exc):
            raise
        report.error = f"import rolled back: {exc}"
        _reset_counts(report)
        return report
    report.committed = True
    report.progress(1.0, "done")
    return report


class _NothingToImport(Exception):
    """Raised inside the transaction so that an import writing nothing rolls back."""


def _reset_counts(report: ImportReport) -> None:
    report.panoramas_created = report.panoramas_updated = report.instances_created = 0
    report.instances_replaced = 0
    report.classes_created = []
