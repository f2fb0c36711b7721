"""Label360 JSON: the full-fidelity format (spherical polygons, classes, statuses,
authorship, model provenance, review history). Import of it is lossless.

Layout of ``label360.json`` (streamed, one panorama at a time)::

    {"format": "label360", "version": 1, "project": {...}, "classes": [...],
     "panoramas": [{"id", "original_name", "sha256", "width", "height", "status",
                    "revision", "metadata", "pose", "assignees", "image",
                    "instances": [...], "events": [...]}, ...]}
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from annotations.activity import by_panorama
from annotations.models import ReviewEvent

from ..selection import iter_panorama_instances
from .common import ExportContext, JsonArrayWriter, copy_image, dumps, image_name

FORMAT = "label360"
VERSION = 1
ANNOTATIONS = "label360.json"


def class_entry(c) -> dict[str, Any]:
    return {
        "id": c.pk,
        "name": c.name,
        "color": c.color,
        "order": c.order,
        "is_ignore": c.is_ignore,
        "is_group": c.is_group,
        "shortcut": c.shortcut,
        "attribute_schema": c.attribute_schema,
    }


def instance_entry(row: dict[str, Any], class_names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "class": class_names[row["label_class_id"]],
        "geometry": row["geometry"],
        "source": row["source"],
        "is_suggestion": row["is_suggestion"],
        "score": row["score"],
        "model_version": row["model_version"],
        "order": row["order"],
        "attributes": row["attributes"],
        "created_by": row["created_by__username"],
        "updated_by": row["updated_by__username"],
        "created_at": row["created_at"].isoformat() if row["created_at"] else None,
        "updated_at": row["updated_at"].isoformat() if row["updated_at"] else None,
    }


def panorama_entry(
    pano,
    rows: list[dict],
    class_names: dict[int, str],
    image: str | None,
    active: dict[str, float] | None = None,
) -> dict:
    events = [
        {
            "user": e.user.username if e.user else None,
            "action": e.action,
            "comment": e.comment,
            "revision": e.revision,
            "created_at": e.created_at.isoformat(),
        }
        for e in ReviewEvent.objects.filter(panorama=pano)
        .select_related("user")
        .order_by("created_at", "id")
    ]
    return {
        "id": pano.pk,
        "original_name": pano.original_name,
        "sha256": pano.sha256,
        "width": pano.width,
        "height": pano.height,
        "file_format": pano.file_format,
        "status": pano.status,
        "revision": pano.revision,
        "metadata": pano.metadata,
        "pose": {"heading": pano.pose_heading, "pitch": pano.pose_pitch, "roll": pano.pose_roll},
        "assignees": sorted(u.username for u in pano.assignees.all()),
        "image": image,
        # active annotation time (seconds) per user, recorded by the workspace
        "active_time": active or {},
        "instances": [instance_entry(r, class_names) for r in rows],
        "events": events,
    }


def write_label360(archive: zipfile.ZipFile, ctx: ExportContext) -> dict[str, Any]:
    """Write ``label360.json`` (and ``images/`` if asked) into the archive."""
    class_names = {c.pk: c.name for c in ctx.classes}
    include = ctx.options.include_images
    project = ctx.project
    instances = 0
    with archive.open(ANNOTATIONS, "w", force_zip64=True) as raw:
        out = io.TextIOWrapper(io.BufferedWriter(raw, 1 << 20), encoding="utf-8")
        out.write("{" + dumps("format") + ":" + dumps(FORMAT))
        out.write("," + dumps("version") + ":" + dumps(VERSION))
        out.write(
            ","
            + dumps("project")
            + ":"
            + dumps(
                {
                    "id": project.pk,
                    "name": project.name,
                    "description": project.description,
                    "default_fov": project.default_fov,
                    "settings": project.settings,
                }
            )
        )
        out.write("," + dumps("options") + ":" + dumps(ctx.options.as_dict()))
        out.write("," + dumps("classes") + ":" + dumps([class_entry(c) for c in ctx.classes]))
        panoramas = JsonArrayWriter(out, "panoramas")
        active = by_panorama(project.pk)
        done = 0
        for pano, rows in iter_panorama_instances(project, ctx.options):
            rows = [r for r in rows if r["label_class_id"] in class_names]
            image = "images/" + image_name(pano) if include else None
            entry = panorama_entry(pano, rows, class_names, image, active.get(pano.pk))
            if ctx.splits is not None:
                entry["split"] = ctx.split_for(pano.pk)
            panoramas.add(entry)
            instances += len(rows)
            done += 1
            ctx.tick(done)
        panoramas.close()
        out.write("}")
        out.flush()
        out.detach()
    if include:
        from ..selection import selected_panoramas

        for pano in selected_panoramas(project, ctx.options).iterator(chunk_size=200):
            ctx.check_cancelled()
            copy_image(archive, pano, "images/" + image_name(pano))
    ctx.summary.update(panoramas=panoramas.count, instances=instances)
    return ctx.summary
