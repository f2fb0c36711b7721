"""Dataset metadata from the project settings: the COCO ``info`` block and ``licenses``.

A manager sets them with the project settings API (``PATCH /api/projects/ID/`` with
``settings.dataset``); they are validated there (the project serializer calls
:func:`check_settings`) and again when an export is requested::

    "dataset": {
        "info": {"description": "...", "version": "2.1", "contributor": "...",
                 "url": "https://...", "year": 2025, "date_created": "2025-03-01"},
        "licenses": [{"id": 1, "name": "CC BY 4.0",
                      "url": "https://creativecommons.org/licenses/by/4.0/"}],
        "image_license": 1
    }

Every field is optional; ``image_license`` (an id of ``licenses``) is written as every COCO
image's ``license``. Sizes are bounded (``MAX_SETTINGS_BYTES`` in all, short strings, at most
``MAX_LICENSES`` licenses); unknown keys are refused so that a typo does not go unnoticed.
Missing ``year``/``date_created`` default to the export's date; ``description`` to
"Label360 export of project <name>", ``version`` to "1.0".
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

from django.utils import timezone

SETTINGS_KEY = "dataset"
MAX_SETTINGS_BYTES = 16 * 1024
MAX_LICENSES = 32
INFO_TEXT = {"description": 2000, "version": 64, "contributor": 500, "url": 2000}
URL = re.compile(r"^https?://[^\s\x00-\x1f]+$")


class MetadataError(ValueError):
    """Invalid dataset settings (the message says which field and why)."""


def check_settings(settings: Any) -> None:
    """Validate the ``dataset`` key of a project's settings (other keys belong to others)."""
    if isinstance(settings, dict) and SETTINGS_KEY in settings:
        validate(settings[SETTINGS_KEY])


def validate(value: Any) -> dict[str, Any]:
    """The dataset settings, checked; MetadataError otherwise."""
    if value is None:
        return {"info": {}, "licenses": [], "image_license": None}
    if not isinstance(value, dict):
        raise MetadataError("must be an object {info, licenses, image_license}")
    try:
        size = len(json.dumps(value, ensure_ascii=False).encode())
    except (TypeError, ValueError) as exc:  # pragma: no cover - JSON from a JSON field
        raise MetadataError(f"not JSON: {exc}") from exc
    if size > MAX_SETTINGS_BYTES:
        raise MetadataError(f"{size} bytes; at most {MAX_SETTINGS_BYTES}")
    unknown = set(value) - {"info", "licenses", "image_license"}
    if unknown:
        raise MetadataError(f"unknown keys: {', '.join(sorted(map(str, unknown)))}")
    info = _info(value.get("info") or {})
    licenses = _licenses(value.get("licenses") or [])
    image_license = value.get("image_license")
    if image_license is not None:
        if not _is_int(image_license) or image_license not in {lic["id"] for lic in licenses}:
            raise MetadataError("image_license must be the id of one of the licenses")
    return {"info": info, "licenses": licenses, "image_license": image_license}


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _text(value: Any, where: str, limit: int) -> str:
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        raise MetadataError(f"{where} must be a string of at most {limit} characters")
    return value


def _url(value: Any, where: str) -> str:
    value = _text(value, where, INFO_TEXT["url"])
    if value and not URL.match(value):
        raise MetadataError(f"{where} must be an http(s) URL")
    return value


def _info(info: Any) -> dict[str, Any]:
    if not isinstance(info, dict):
        raise MetadataError("info must be an object")
    unknown = set(info) - set(INFO_TEXT) - {"year", "date_created"}
    if unknown:
        raise MetadataError(f"info: unknown keys: {', '.join(sorted(map(str, unknown)))}")
    out: dict[str, Any] = {}
    for key, limit in INFO_TEXT.items():
        if key in info:
            out[key] = (
                _url(info[key], "info.url")
                if key == "url"
                else _text(info[key], f"info.{key}", limit)
            )
    if "year" in info:
        if not _is_int(info["year"]) or not 1900 <= info["year"] <= 9999:
            raise MetadataError("info.year must be an integer year (1900..9999)")
        out["year"] = info["year"]
    if "date_created" in info:
        text = _text(info["date_created"], "info.date_created", 64)
        try:
            datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)
        except ValueError as exc:
            raise MetadataError("info.date_created must be an ISO 8601 date") from exc
        out["date_created"] = text
    return out


def _licenses(licenses: Any) -> list[dict[str, Any]]:
    if not isinstance(licenses, list) or len(licenses) > MAX_LICENSES:
        raise MetadataError(f"licenses must be a list of at most {MAX_LICENSES}")
    out, ids = [], set()
    for k, lic in enumerate(licenses):
        if not isinstance(lic, dict) or set(lic) - {"id", "name", "url"}:
            raise MetadataError(f"licenses[{k}] must be an object {{id, name, url}}")
        if not _is_int(lic.get("id")) or not 0 < lic["id"] < 2**31:
            raise MetadataError(f"licenses[{k}].id must be a positive integer")
        if lic["id"] in ids:
            raise MetadataError(f"licenses[{k}].id {lic['id']} appears twice")
        ids.add(lic["id"])
        out.append(
            {
                "id": lic["id"],
                "name": _text(lic.get("name", ""), f"licenses[{k}].name", 500),
                "url": _url(lic.get("url", ""), f"licenses[{k}].url"),
            }
        )
    return out


def dataset_metadata(project) -> dict[str, Any]:
    """The project's validated dataset settings (empty parts when unset)."""
    settings = project.settings if isinstance(project.settings, dict) else {}
    return validate(settings.get(SETTINGS_KEY))


def coco_info(project, extra: dict[str, Any]) -> dict[str, Any]:
    """COCO ``info``: the standard fields (from the settings, else defaults), then ``extra``
    (this exporter's conventions) without overriding them."""
    info = dataset_metadata(project)["info"]
    now = timezone.now()
    standard = {
        "description": info.get("description", f"Label360 export of project {project.name}"),
        "url": info.get("url", ""),
        "version": info.get("version", "1.0"),
        "year": info.get("year", now.year),
        "contributor": info.get("contributor", ""),
        "date_created": info.get("date_created", now.date().isoformat()),
    }
    return {**standard, **{k: v for k, v in extra.items() if k not in standard}}
