"""Fill a JSON schema with values found in the prompt, so tool arguments and structured
output are valid *and* come from what the user wrote.

Values are harvested from the text once (numbers, quoted strings, "name: value" pairs,
capitalised names, dates, e-mail addresses) and handed out in order of appearance, each
used once per type, so ``add 3 and 5`` fills ``a=3, b=5``. A property whose name appears
next to a value takes that value first. Whatever cannot be found falls back to the
schema's ``default``, ``const``, first ``enum`` value or a minimal valid value, so the
result always validates: required properties are always present.
"""

from __future__ import annotations

import math
import re
from typing import Any

from gw_emulator.prompt import STOPWORDS

__all__ = ["SchemaFiller", "fill_schema"]

_NUMBER_RE = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")
_QUOTED_RE = re.compile(
    r"\"([^\"\n]{1,200})\"|(?<!\w)'([^'\n]{1,200})'(?!\w)|“([^”\n]{1,200})”|「([^」\n]{1,200})」|`([^`\n]{1,200})`"
)
_NAME_RUN_RE = re.compile(r"\b[A-Z][\w'-]*(?:[ \t]+[A-Z][\w'-]*)*")
_DATE_RE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_EMAIL_RE = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_NUMBER = r"-?\d+(?:\.\d+)?"
_WORD_VALUE = r"\"[^\"]+\"|'[^']+'|[^\s,.;:!?]+"
_NEGATIONS = frozenset({"not", "no", "without", "disable", "never", "don't", "dont"})
_FALSE_WORDS = frozenset({"false", "no", "off", "disabled", "0"})
_FREE_TEXT_HINTS = (
    "query",
    "question",
    "text",
    "search",
    "prompt",
    "message",
    "content",
    "input",
    "topic",
    "keyword",
    "description",
    "summary",
    "answer",
)
_MAX_DEPTH = 8


def _proper_names(text: str) -> list[str]:
    """Runs of capitalised words outside quotes, most name-like first.

    A sentence's first word is capitalised anyway: it is dropped when it is a function
    word ("What") or leads a longer run ("Record Alice"), and a lone one ("Alice is 31",
    but also "Make ...") is only used after the names found mid-sentence.
    """
    unquoted = _QUOTED_RE.sub(lambda m: " " * len(m.group(0)), text)
    inner: list[str] = []
    initial: list[str] = []
    for match in _NAME_RUN_RE.finditer(unquoted):
        words = match.group(0).split()
        before = unquoted[: match.start()].rstrip()
        starts_sentence = not before or before[-1] in ".!?:\"'"
        if starts_sentence and (words[0].lower().split("'")[0] in STOPWORDS or len(words) > 1):
            words = words[1:]
            starts_sentence = False
        if words:
            (initial if starts_sentence else inner).append(" ".join(words))
    return inner + initial


def _bound(schema: dict[str, Any], key: str) -> float | None:
    value = schema.get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _clamp(value: float, schema: dict[str, Any], *, integer: bool) -> float:
    """Move ``value`` inside the schema's bounds (inclusive and exclusive)."""
    low, high = _bound(schema, "minimum"), _bound(schema, "maximum")
    low_ex, high_ex = _bound(schema, "exclusiveMinimum"), _bound(schema, "exclusiveMaximum")
    step = 1.0 if integer else 0.5
    if low is not None and value < low:
        value = low
    if low_ex is not None and value <= low_ex:
        value = low_ex + step
    if high is not None and value > high:
        value = high
    if high_ex is not None and value >= high_ex:
        value = high_ex - step
    if integer:
        value = float(math.ceil(value)) if low is not None or low_ex is not None else round(value)
        if (high is not None and value > high) or (high_ex is not None and value >= high_ex):
            value = float(math.floor(high if high is not None else (high_ex or 0) - 1e-9))
    return float(value)


def _spaced(name: str) -> str:
    """``user_id`` / ``userId`` -> ``user id``: how people write a property's name."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").replace("-", " ")
    return spaced.lower().strip()


class SchemaFiller:
    """Hands out values from ``text`` to the properties of one or more schemas.

    ``exclude`` lists words not worth taking as values (the tool's own name).
    """

    def __init__(self, text: str, *, exclude: tuple[str, ...] = (), question: str = "") -> None:
        self.text = text
        self.question = question or text
        lowered_excludes = {e.lower() for e in exclude if e}
        self._numbers = [m.group(0) for m in _NUMBER_RE.finditer(text)]
        self._quoted = [next(g for g in m.groups() if g) for m in _QUOTED_RE.finditer(text)]
        self._names = [
            n for n in _proper_names(text) if n.lower() not in lowered_excludes and len(n) > 1
        ]
        self._dates = _DATE_RE.findall(text)
        self._emails = _EMAIL_RE.findall(text)
        self._used: set[tuple[str, str]] = set()
        self._exclude = lowered_excludes
        self._defs: dict[str, Any] = {}

    # -- public ------------------------------------------------------------------------

    def fill(self, schema: dict[str, Any]) -> Any:
        """A value valid for ``schema`` (``$defs``/``definitions`` references resolved)."""
        self._defs = {**schema.get("definitions", {}), **schema.get("$defs", {})}
        return self._value(schema, "", 0)

    # -- schema walking ----------------------------------------------------------------

    def _resolve(self, schema: Any) -> dict[str, Any]:
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema and seen < _MAX_DEPTH:
            ref = str(schema["$ref"]).rsplit("/", 1)[-1]
            schema = self._defs.get(ref, {})
            seen += 1
        return schema if isinstance(schema, dict) else {}

    def _value(self, raw: Any, name: str, depth: int) -> Any:
        schema = self._resolve(raw)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return self._enum(list(schema["enum"]))
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [self._resolve(o) for o in schema[key]]
                usable = [o for o in options if o.get("type") != "null"] or options
                merged = {k: v for k, v in schema.items() if k != key}
                return self._value({**merged, **usable[0]}, name, depth)
        if "allOf" in schema:
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                merged.update(self._resolve(part))
            return self._value(merged, name, depth)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "string"
        if depth > _MAX_DEPTH:
            return self._minimal(kind)
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            return self._array(schema, name, depth)
        if kind in ("integer", "number"):
            return self._number(schema, name, integer=kind == "integer")
        if kind == "boolean":
            return self._boolean(name)
        if kind == "null":
            return None
        return self._string(schema, name)

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        properties = schema.get("properties") or {}
        # Values written next to a property's name are reserved for it before the
        # others take values in order of appearance.
        for prop, sub in properties.items():
            kind = self._resolve(sub).get("type")
            if kind in ("integer", "number"):
                claimed = self._near(prop, _NUMBER, loose=True)
                if claimed is not None:
                    self._used.add(("number", claimed))
            elif kind == "string":
                claimed = self._near(prop, _WORD_VALUE)
                if claimed is not None:
                    self._used.add(("string", claimed.strip("\"'")))
        for prop, sub in properties.items():
            result[prop] = self._value(sub, prop, depth + 1)
        for prop in schema.get("required") or ():
            if prop not in result:
                result[prop] = self._value({}, prop, depth + 1)
        return result

    def _array(self, schema: dict[str, Any], name: str, depth: int) -> list[Any]:
        items = self._resolve(schema.get("items", {}))
        low = int(schema.get("minItems", 1))
        high = max(int(schema.get("maxItems", max(low, 3))), low)
        values = [self._value(items, name, depth + 1) for _ in range(max(low, 1))]
        # Scalars: keep taking values while the prompt still has some of that kind.
        while len(values) < high and items.get("type") in ("integer", "number", "string"):
            if not self._has_unused(items.get("type", "string")):
                break
            values.append(self._value(items, name, depth + 1))
        if schema.get("uniqueItems"):
            unique: list[Any] = []
            for value in values:
                if value not in unique:
                    unique.append(value)
            values = unique
        return values[:high]

    # -- scalars -----------------------------------------------------------------------

    def _enum(self, options: list[Any]) -> Any:
        lowered = self.text.lower()
        for option in options:
            if isinstance(option, str) and re.search(rf"\b{re.escape(option.lower())}\b", lowered):
                return option
        return options[0]

    def _near(self, name: str, pattern: str, *, loose: bool = False) -> str | None:
        """A value written right after the property's name: ``city: Paris``, ``city is
        Paris``; with ``loose``, plain juxtaposition too (``limit 5``)."""
        if not name:
            return None
        label = re.escape(_spaced(name)).replace(r"\ ", r"[\s_-]?")
        link = r"(?:\s*(?:=|:)\s*|\s+(?:is|of|to|as|named|called|equals?)\s+"
        link += r"|\s+)" if loose else ")"
        match = re.search(rf"\b{label}\b{link}(?:the\s+)?({pattern})", self.text, re.IGNORECASE)
        return match.group(1) if match else None

    def _take(self, kind: str, pool: list[str]) -> str | None:
        for value in pool:
            if (kind, value) not in self._used:
                self._used.add((kind, value))
                return value
        return None

    def _has_unused(self, kind: str) -> bool:
        if kind in ("integer", "number"):
            return any(("number", v) not in self._used for v in self._numbers)
        return any(("string", v) not in self._used for v in self._quoted)

    def _number(self, schema: dict[str, Any], name: str, *, integer: bool) -> int | float:
        found = self._near(name, _NUMBER, loose=True)
        if found is not None:
            self._used.add(("number", found))
        else:
            found = self._take("number", self._numbers)
        if found is None:
            default = schema.get("default")
            value: float = float(default) if isinstance(default, (int, float)) else 0.0
        else:
            value = float(found)
        value = _clamp(value, schema, integer=integer)
        if integer:
            return int(value)
        return int(value) if value.is_integer() and (found is None or "." not in found) else value

    def _boolean(self, name: str) -> bool:
        """True when the property is mentioned, unless negated ("not verbose",
        "verbose: off")."""
        if not name:
            return True
        label = re.escape(_spaced(name)).replace(r"\ ", r"[\s_-]?")
        pattern = rf"([\w']+)?\W*([\w']+)?\W*\b{label}\b(?:\s*[:=]\s*|\s+is\s+)?(\w+)?"
        window = re.search(pattern, self.text, re.IGNORECASE)
        if window is None:
            return False
        before = {w.lower() for w in window.groups()[:2] if w}
        after = (window.group(3) or "").lower()
        return not (before & _NEGATIONS or after in _FALSE_WORDS)

    def _string(self, schema: dict[str, Any], name: str) -> str:
        fmt = schema.get("format")
        value: str | None
        if fmt == "date":
            value = self._take("date", self._dates) or "1970-01-01"
        elif fmt == "date-time":
            value = (self._take("date", self._dates) or "1970-01-01") + "T00:00:00Z"
        elif fmt == "email":
            value = self._take("email", self._emails) or "user@example.com"
        else:
            value = self._free_string(schema, name)
        low = int(schema.get("minLength", 0))
        high = schema.get("maxLength")
        if len(value) < low:
            value = value + "x" * (low - len(value))
        if isinstance(high, int) and len(value) > high:
            value = value[:high]
        return value

    def _free_string(self, schema: dict[str, Any], name: str) -> str:
        near = self._near(name, _WORD_VALUE)
        if near and near.lower() not in self._exclude and near.lower() not in ("a", "an"):
            self._used.add(("string", near.strip("\"'")))
            return near.strip("\"'")
        quoted = self._take("string", self._quoted)
        if quoted is not None:
            return quoted
        hint = f"{name} {schema.get('description', '')}".lower()
        if not any(word in hint for word in _FREE_TEXT_HINTS):
            # Names may be reused once all are taken: two tools about "Paris" both get it.
            proper = self._take("string", self._names) or next(iter(self._names), None)
            if proper is not None:
                return proper
        words = [
            w
            for w in re.findall(r"[^\W_][\w'-]*", self.question)
            if w.lower() not in self._exclude and _spaced(w) not in self._exclude
        ]
        if words:
            return " ".join(words[:12])
        default = schema.get("default")
        return default if isinstance(default, str) else (name or "value")

    @staticmethod
    def _minimal(kind: str) -> Any:
        return {
            "object": {},
            "array": [],
            "integer": 0,
            "number": 0,
            "boolean": False,
            "null": None,
        }.get(kind, "")


def fill_schema(
    schema: dict[str, Any], text: str, *, exclude: tuple[str, ...] = (), question: str = ""
) -> Any:
    """A value valid for ``schema``, filled from ``text`` (see the module docstring)."""
    return SchemaFiller(text, exclude=exclude, question=question).fill(schema)
