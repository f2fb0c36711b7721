"""Request parsers that turn hostile values into a clear 400 before any view sees them.

JSON allows things the rest of the stack cannot take: nesting deep enough to exhaust
Python's recursion (in the parser, or later when the value is serialised again), numbers
that overflow a float (``1e400`` becomes infinity) or a 64-bit database integer (a
400-digit id), ``NaN``/``Infinity`` (not JSON at all), and strings PostgreSQL cannot store:
``\\u0000`` and lone UTF-16 surrogates (``\\ud800``, which cannot even be encoded as UTF-8).
The parsers here refuse them all with a message that says what and where; form and
multipart fields get the same string check. The body size is bounded before parsing by
:mod:`label360.bodylimit`.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np
from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser

INT64_MAX = 2**63 - 1
#: characters no text column (or JSONB) can hold: NUL and UTF-16 surrogates that are not
#: part of a pair (json.loads joins valid pairs into one character)
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def max_depth() -> int:
    return int(getattr(settings, "LABEL360_MAX_JSON_DEPTH", 32))


def number_problem(value: int | float) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if -INT64_MAX - 1 <= value <= INT64_MAX:
            return None
        return f"is an integer of {len(str(abs(value)))} digits, outside the 64-bit range"
    if math.isfinite(value):
        return None
    return "is not a finite number (1e400, NaN and Infinity are refused)"


def _where(path: list) -> str:
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
    return text or "the body"


def string_problem(value: str) -> str | None:
    match = UNSTORABLE.search(value)
    if match is None:
        return None
    char = match.group()
    if char == "\x00":
        return "contains a NUL character (\\u0000)"
    return f"contains a lone surrogate (\\u{ord(char):04x}), which is not text"


def check_value(data: Any, limit: int | None = None) -> None:
    """Raise ParseError if ``data`` nests deeper than ``limit``, holds an unstorable string or
    a number out of range; the message names the place (``instances[0].geometry``).

    Iterative (no recursion), linear in the size of the value.
    """
    limit = max_depth() if limit is None else limit
    stack: list[tuple[Any, list, int]] = [(data, [], 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth >= limit:
                raise ParseError(
                    f"JSON nested deeper than {limit} levels (at {_where(path)}); "
                    "flatten the value."
                )
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and (problem := string_problem(key)):
                    raise ParseError(f"A key at {_where(path)} {problem}.")
                stack.append((item, [*path, key], depth + 1))
        elif isinstance(value, str) and (problem := string_problem(value)):
            raise ParseError(f"The text at {_where(path)} {problem}.")
        elif isinstance(value, int | float) and (problem := number_problem(value)):
            raise ParseError(f"The number at {_where(path)} {problem}.")


#: a JSON string literal (linear: no nested quantifiers)
STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"')
#: escapes that put NUL or a UTF-16 surrogate into a decoded string (JSON.stringify writes
#: neither for ordinary text, so bodies without them skip the walk)
SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
_BRACKETS = np.zeros(256, dtype=np.int8)
_BRACKETS[[ord("["), ord("{")]] = 1
_BRACKETS[[ord("]"), ord("}")]] = -1
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays/objects in JSON text, outside strings (vectorised)."""
    bare = STRING_LITERAL.sub('""', text).encode("utf-8", errors="replace")
    brackets = bare.translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    steps = _BRACKETS[np.frombuffer(brackets, dtype=np.uint8)]
    return int(np.cumsum(steps, dtype=np.int64).max(initial=0))


def loads(text: str) -> Any:
    """json.loads with the checks above; raises ParseError.

    The depth is measured on the text before parsing (so the parser never recurses deeply);
    parse hooks and a scan of the text for escapes decide whether the parsed value must be
    walked to name the place of a problem, so ordinary bodies are not walked at all.
    """
    limit = max_depth()
    if nesting_depth(text) > limit:
        raise ParseError(f"JSON nested deeper than {limit} levels; flatten the value.")
    suspect = "\x00" in text or ("\\u" in text and SUSPECT_ESCAPE.search(text) is not None)
    flags = []  # numbers out of range seen by the parse hooks

    def parse_int(literal: str) -> int:
        value = int(literal)  # Python itself refuses more than 4300 digits (ValueError)
        if len(literal) > 18 and number_problem(value):
            flags.append(literal)
        return value

    def parse_float(literal: str) -> float:
        value = float(literal)
        if not math.isfinite(value):
            flags.append(literal)
        return value

    def parse_constant(name: str) -> float:
        flags.append(name)
        return float(name)

    try:
        data = json.loads(
            text, parse_int=parse_int, parse_float=parse_float, parse_constant=parse_constant
        )
    except RecursionError:  # not reached after the depth check; kept as a last guard
        raise ParseError(f"JSON nested deeper than {limit} levels; flatten the value.") from None
    except ValueError as exc:  # JSONDecodeError is a ValueError, and so is the digit limit
        raise ParseError(f"JSON parse error - {exc}") from None
    if suspect or flags:
        check_value(data, limit)
    return data


class StrictJSONParser(JSONParser):
    """JSONParser that refuses deep nesting, out-of-range numbers and unstorable text."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            raise ParseError(f"The body is not valid {encoding} text.") from None
        data = loads(text)
        if not isinstance(data, dict):
            # every endpoint of this API takes an object; views may rely on data.get()
            raise ParseError("The body must be a JSON object ({...}).")
        return data


def _check_fields(data) -> None:
    for key, values in data.lists():
        for value in [key, *values]:
            if isinstance(value, str) and (problem := string_problem(value)):
                raise ParseError(f"The form field {key[:50]!r} {problem}.")


class StrictFormParser(FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        _check_fields(data)
        return data


class StrictMultiPartParser(MultiPartParser):
    """Checks the text fields; files are bounded and validated by each upload view."""

    def parse(self, stream, media_type=None, parser_context=None):
        result = super().parse(stream, media_type, parser_context)
        _check_fields(result.data)
        return result


DEFAULT_PARSERS = [StrictJSONParser, StrictFormParser, StrictMultiPartParser]
