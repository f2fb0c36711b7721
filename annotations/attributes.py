"""Per-class attribute schemas and the per-instance attribute values they describe.

A class's ``attribute_schema`` is a list of ``{"name", "type", "options"?, "default"?}`` with
``type`` one of ``bool``, ``str`` or ``enum`` (``options``: the allowed strings). An
instance's ``attributes`` is a JSON object; the keys its class's schema names must hold a
value of the right type. Other keys are kept as they are (imports and models may carry
their own), but the whole object is bounded in size.

Everything is checked against explicit bounds before anything else looks at it.
"""

from __future__ import annotations

import json
import re

TYPES = ("bool", "str", "enum")
MAX_ATTRIBUTES = 32
MAX_OPTIONS = 64
MAX_NAME = 64
MAX_OPTION = 100
MAX_STR_VALUE = 1000
MAX_VALUES_BYTES = 8192
MAX_VALUE_KEYS = 64
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_ .-]*$")


def schema_errors(schema: object) -> list[str]:
    """Problems of an attribute schema (empty list: valid)."""
    if not isinstance(schema, list):
        return ["the attribute schema must be a list"]
    if len(schema) > MAX_ATTRIBUTES:
        return [f"at most {MAX_ATTRIBUTES} attributes per class"]
    errors: list[str] = []
    seen: set[str] = set()
    for k, item in enumerate(schema):
        where = f"attribute {k + 1}"
        if not isinstance(item, dict):
            errors.append(f"{where}: must be an object")
            continue
        unknown = set(item) - {"name", "type", "options", "default"}
        if unknown:
            errors.append(f"{where}: unknown keys {sorted(unknown)}")
        name = item.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME or not NAME.match(name):
            errors.append(
                f"{where}: name must be 1–{MAX_NAME} characters (letters, digits, _ . - space), "
                "starting with a letter or _"
            )
        elif name in seen:
            errors.append(f"{where}: the name {name!r} appears twice")
        else:
            seen.add(name)
            where = f"attribute {name!r}"
        kind = item.get("type")
        if kind not in TYPES:
            errors.append(f"{where}: type must be one of {', '.join(TYPES)}")
            continue
        options = item.get("options")
        if kind == "enum":
            if not isinstance(options, list) or not 1 <= len(options) <= MAX_OPTIONS:
                errors.append(f"{where}: an enum needs 1–{MAX_OPTIONS} options")
                continue
            if not all(isinstance(o, str) and 1 <= len(o) <= MAX_OPTION for o in options):
                errors.append(f"{where}: options must be strings of 1–{MAX_OPTION} characters")
                continue
            if len(set(options)) != len(options):
                errors.append(f"{where}: options must be distinct")
                continue
        elif options is not None:
            errors.append(f"{where}: only an enum has options")
            continue
        if "default" in item and item["default"] is not None:
            problem = _value_error(item, item["default"])
            if problem:
                errors.append(f"{where}: default {problem}")
    return errors


def normalise_schema(schema: list[dict]) -> list[dict]:
    """The schema with only its known keys, in a stable order (call after validation)."""
    out = []
    for item in schema:
        entry = {"name": item["name"], "type": item["type"]}
        if item["type"] == "enum":
            entry["options"] = list(item["options"])
        if item.get("default") is not None:
            entry["default"] = item["default"]
        out.append(entry)
    return out


def _value_error(item: dict, value: object) -> str | None:
    kind = item["type"]
    if kind == "bool":
        return None if isinstance(value, bool) else "must be true or false"
    if kind == "str":
        if not isinstance(value, str):
            return "must be text"
        return None if len(value) <= MAX_STR_VALUE else f"is longer than {MAX_STR_VALUE}"
    if value not in item.get("options", []):
        return f"must be one of {', '.join(map(str, item.get('options', [])))}"
    return None


def values_errors(schema: list[dict] | None, values: object) -> list[str]:
    """Problems of an instance's attribute values against its class's schema."""
    if not isinstance(values, dict):
        return ["attributes must be a JSON object"]
    if len(values) > MAX_VALUE_KEYS:
        return [f"at most {MAX_VALUE_KEYS} attributes per instance"]
    try:
        size = len(json.dumps(values))
    except (TypeError, ValueError):
        return ["attributes must be plain JSON"]
    if size > MAX_VALUES_BYTES:
        return [f"attributes take {size} bytes; the limit is {MAX_VALUES_BYTES}"]
    errors = []
    for item in schema or []:
        name = item.get("name")
        if name in values and values[name] is not None:
            problem = _value_error(item, values[name])
            if problem:
                errors.append(f"{name} {problem}")
    return errors
