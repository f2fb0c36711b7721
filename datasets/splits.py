"""Dataset splits (train/val/test...): reproducible assignment of panoramas to named splits.

Two methods:

* ``ratio``: each panorama draws a number u in [0, 1) from SHA-256(seed, key) and falls in
  the split whose share of [0, 1) (the ratios, normalised, in the given order) holds u. The key
  is the panorama's image checksum (``sha256``), so a panorama's split depends on nothing but
  its own pixels and the seed: the same seed gives the same split on every machine, and adding
  or removing panoramas never moves the others. The ratios hold in expectation (the summary
  gives the actual counts). With ``group`` (a metadata key such as ``sequence``), the key is
  the group's value instead, so panoramas that share it (frames of one drive, one site) land
  in the same split and nothing leaks between train and test.
* ``field``: the split is the value of a metadata key of each panorama (``metadata.split``);
  panoramas without a usable value go to ``unassigned``.

Everything is bounded: at most ``MAX_SPLITS`` names of at most 32 characters, seeds and keys
of at most 200 characters, dotted metadata paths of at most 4 levels.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

SPLIT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
METADATA_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,3}$")
MAX_SPLITS = 16
MAX_TEXT = 200
UNASSIGNED = "unassigned"
METHODS = ("ratio", "field")


class SplitError(ValueError):
    """Invalid split options (the message is shown to the user)."""


@dataclass(frozen=True)
class SplitSpec:
    """How panoramas are split: ``method`` ratio (``ratios``, ``seed``, optional ``group``)
    or field (``field``)."""

    method: str = "ratio"
    ratios: tuple[tuple[str, float], ...] = ()
    seed: str = "0"
    field: str = ""
    group: str = ""

    @property
    def names(self) -> list[str]:
        """The split names in their order (ratio method; the field method finds its own)."""
        return [name for name, _ in self.ratios]


def parse_split(data: Any) -> SplitSpec | None:
    """A SplitSpec from the API/command form, or None for no split.

    Accepted: ``{"ratios": {"train": 0.8, "val": 0.2} or [["train", 0.8], ...], "seed": 42,
    "group": "sequence"}`` or ``{"field": "split"}`` (``method`` may be given explicitly);
    the stored form (``SplitSpec`` as a dict) parses to itself.
    """
    if data is None or data == {} or data == "":
        return None
    if not isinstance(data, dict):
        raise SplitError("split must be an object: {ratios, seed, group} or {field}")
    unknown = set(data) - {"method", "ratios", "seed", "field", "group"}
    if unknown:
        raise SplitError(f"unknown split keys: {', '.join(sorted(map(str, unknown)))}")
    method = data.get("method") or ("field" if data.get("field") else "ratio")
    if method not in METHODS:
        raise SplitError("split method must be 'ratio' or 'field'")
    if method == "field":
        return SplitSpec(method="field", field=_metadata_key(data.get("field"), "field"))
    ratios = _ratios(data.get("ratios"))
    seed = data.get("seed", "0")
    if isinstance(seed, bool) or not isinstance(seed, int | str):
        raise SplitError("split seed must be an integer or a string")
    seed = str(seed)
    if not 0 < len(seed) <= MAX_TEXT:
        raise SplitError(f"split seed must have 1..{MAX_TEXT} characters")
    group = data.get("group") or ""
    if group:
        group = _metadata_key(group, "group")
    return SplitSpec(method="ratio", ratios=ratios, seed=seed, group=group)


def _ratios(raw: Any) -> tuple[tuple[str, float], ...]:
    if isinstance(raw, dict):
        pairs = list(raw.items())
    elif isinstance(raw, list | tuple):
        pairs = []
        for item in raw:
            if not isinstance(item, list | tuple) or len(item) != 2:
                raise SplitError("split ratios must be {name: ratio} or [[name, ratio], ...]")
            pairs.append((item[0], item[1]))
    else:
        raise SplitError("split ratios must be {name: ratio} or [[name, ratio], ...]")
    if not 1 <= len(pairs) <= MAX_SPLITS:
        raise SplitError(f"give 1..{MAX_SPLITS} splits")
    names = set()
    out = []
    for name, ratio in pairs:
        if not isinstance(name, str) or not SPLIT_NAME.match(name) or name == UNASSIGNED:
            raise SplitError(
                f"split name {name!r}: letters, digits, '_' and '-', at most 32, not {UNASSIGNED!r}"
            )
        if name in names:
            raise SplitError(f"split name {name!r} appears twice")
        names.add(name)
        if isinstance(ratio, bool) or not isinstance(ratio, int | float):
            raise SplitError(f"split ratio of {name!r} must be a number")
        if not math.isfinite(ratio) or ratio < 0:
            raise SplitError(f"split ratio of {name!r} must be finite and >= 0")
        out.append((name, float(ratio)))
    total = sum(r for _, r in out)
    if total <= 0:
        raise SplitError("split ratios must add up to more than 0")
    if abs(total - 1.0) <= 1e-9:  # already normalised (the stored form): kept bit for bit
        return tuple(out)
    return tuple((name, r / total) for name, r in out)


def _metadata_key(value: Any, what: str) -> str:
    if not isinstance(value, str) or not METADATA_KEY.match(value):
        raise SplitError(
            f"split {what} must be a metadata key (letters, digits, '_', '-'; "
            "dotted for nested keys, at most 4 levels)"
        )
    return value


def metadata_value(metadata: Any, path: str) -> Any:
    """The scalar at a dotted ``path`` in a panorama's metadata, or None."""
    value = metadata
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    if isinstance(value, str | int | float | bool) and not (
        isinstance(value, float) and not math.isfinite(value)
    ):
        return value
    return None


def unit_draw(seed: str, key: str) -> float:
    """A number in [0, 1) fixed by (seed, key): the first 8 bytes of SHA-256 over both."""
    digest = hashlib.sha256(f"label360-split\0{seed}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def split_of(spec: SplitSpec, sha256: str, metadata: Any) -> str:
    """The split of one panorama (pure: depends on nothing else)."""
    if spec.method == "field":
        value = metadata_value(metadata, spec.field)
        if isinstance(value, str) and SPLIT_NAME.match(value) and value != UNASSIGNED:
            return value
        return UNASSIGNED
    key = f"sha256:{sha256}"
    if spec.group:
        value = metadata_value(metadata, spec.group)
        if value is not None:
            key = "group:" + json.dumps(value)[:MAX_TEXT]
    u = unit_draw(spec.seed, key)
    edge = 0.0
    for name, ratio in spec.ratios:
        edge += ratio
        if u < edge:
            return name
    return next(name for name, ratio in reversed(spec.ratios) if ratio > 0)


def assign(spec: SplitSpec, panoramas: Iterable[tuple[int, str, Any]]) -> dict[int, str]:
    """{panorama id: split} for (id, sha256, metadata) rows."""
    return {pk: split_of(spec, sha, metadata) for pk, sha, metadata in panoramas}


def split_names(spec: SplitSpec, assignment: dict[int, str]) -> list[str]:
    """Every split an export writes: the ratio method's names in order (empty ones too, so
    a loader finds every file it expects), or the field values found (sorted), with
    ``unassigned`` last."""
    if spec.method == "ratio":
        return spec.names
    found = set(assignment.values())
    names = sorted(found - {UNASSIGNED})
    if len(names) > MAX_SPLITS:
        raise SplitError(
            f"metadata key {spec.field!r} has {len(names)} different values; "
            f"at most {MAX_SPLITS} splits"
        )
    return names + ([UNASSIGNED] if UNASSIGNED in found else [])


def splits_document(
    spec: SplitSpec, names: list[str], rows: Iterable[tuple[int, str, str, str]]
) -> dict[str, Any]:
    """``splits.json``: how the split was made and which panorama is where.

    ``rows``: (panorama id, sha256, original name, split) in panorama-id order."""
    panoramas = [
        {"id": pk, "sha256": sha, "original_name": name, "split": split}
        for pk, sha, name, split in rows
    ]
    counts = {name: 0 for name in names}
    for p in panoramas:
        counts[p["split"]] = counts.get(p["split"], 0) + 1
    method: dict[str, Any] = {"method": spec.method}
    if spec.method == "ratio":
        method.update(
            ratios=dict(spec.ratios),
            seed=spec.seed,
            group=spec.group or None,
            key="'sha256:' + the image's sha256 (hex)"
            + (f", or 'group:' + JSON of metadata.{spec.group} when set" if spec.group else ""),
            rule="u = first 8 bytes of SHA-256('label360-split\\0' + seed + '\\0' + key) / 2^64; "
            "the split is the first whose cumulative ratio exceeds u",
        )
    else:
        method.update(field=f"metadata.{spec.field}", unassigned=UNASSIGNED)
    return {**method, "splits": names, "counts": counts, "panoramas": panoramas}
