"""Variables in compose values (`$VAR`, `${VAR:-default}`, ...) and the `.env` file that sets them.

Both are kept as spans into the original text, so a rewrite changes one value and
leaves every other byte (comments, order, quoting) as the user wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from stackferry.compose.errors import ComposeError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


@dataclass(frozen=True)
class Literal:
    """Plain text of a value; `start`/`end` index the value, `text` has `$$` decoded."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Reference:
    """`$NAME`, `${NAME}` or `${NAME<op>word}`; `word_start`/`word_end` index the value."""

    start: int
    end: int
    name: str
    op: str
    word: str
    word_start: int
    word_end: int


Segment = Literal | Reference


def segments(value: str, line: int | None = None) -> list[Segment]:
    """Split a compose value into literals and variable references, as compose reads it."""
    parts: list[Segment] = []
    text, text_start, pos = "", 0, 0
    while pos < len(value):
        dollar = value.find("$", pos)
        if dollar < 0:
            text += value[pos:]
            break
        text += value[pos:dollar]
        if value.startswith("$$", dollar):
            text += "$"
            pos = dollar + 2
            continue
        ref = _reference_at(value, dollar, line)
        if text or dollar > text_start:
            parts.append(Literal(text_start, dollar, text))
        parts.append(ref)
        text, text_start, pos = "", ref.end, ref.end
    if text:
        parts.append(Literal(text_start, len(value), text))
    return parts


def _reference_at(value: str, dollar: int, line: int | None) -> Reference:
    """The reference that starts at `value[dollar]` (a `$` that is not `$$`)."""
    bare = _NAME.match(value, dollar + 1)
    if bare:
        return Reference(dollar, bare.end(), bare[0], "", "", 0, 0)
    name = _NAME.match(value, dollar + 2) if value.startswith("{", dollar + 1) else None
    if name is None:
        raise ComposeError(f"invalid interpolation format in {value!r}", line)
    after = name.end()
    if value.startswith("}", after):
        return Reference(dollar, after + 1, name[0], "", "", 0, 0)
    op = next((op for op in _OPERATORS if value.startswith(op, after)), "")
    close = _closing_brace(value, after + len(op)) if op else -1
    if close < 0:
        raise ComposeError(f"invalid interpolation format in {value!r}", line)
    word_start = after + len(op)
    return Reference(dollar, close + 1, name[0], op, value[word_start:close], word_start, close)


def _closing_brace(value: str, start: int) -> int:
    """Index of the `}` that closes a `${`, skipping nested `${...}` (`${A:-${B}}`); -1 if none."""
    depth, pos = 1, start
    while pos < len(value):
        if value.startswith("$$", pos):
            pos += 2
            continue
        if value.startswith("${", pos):
            depth += 1
            pos += 2
            continue
        if value[pos] == "}":
            depth -= 1
            if depth == 0:
                return pos
        pos += 1
    return -1


@dataclass(frozen=True)
class Resolved:
    """What a reference expands to and where that text comes from.

    `origin` is "environment" (the agent's environment, e.g. HOME), "env" (a `.env`
    entry), "word" (the default or alternative written in the compose file, itself
    interpolated) or "unset".
    """

    value: str
    origin: str


def resolve(
    ref: Reference, dotenv: Mapping[str, str], environ: Mapping[str, str], line: int | None = None
) -> Resolved:
    """Expand one reference like compose: the environment wins over `.env`."""
    if ref.name in environ:
        current: str | None = environ[ref.name]
        origin = "environment"
    else:
        current = dotenv.get(ref.name)
        origin = "env"
    is_set = current is not None
    non_empty = bool(current)
    if ref.op in (":-", "-"):
        use_word = not non_empty if ref.op == ":-" else not is_set
        if use_word:
            return Resolved(interpolate(ref.word, dotenv, environ, line), "word")
    elif ref.op in (":+", "+"):
        use_word = non_empty if ref.op == ":+" else is_set
        word = interpolate(ref.word, dotenv, environ, line) if use_word else ""
        return Resolved(word, "word" if use_word else "unset")
    elif ref.op in (":?", "?") and not (non_empty if ref.op == ":?" else is_set):
        reason = f": {ref.word}" if ref.word else ""
        raise ComposeError(f"required variable {ref.name} is not set{reason}", line)
    return Resolved(current, origin) if current is not None else Resolved("", "unset")


def escape_literal(text: str) -> str:
    """Text as a compose literal: `$` must be doubled or compose would interpolate it."""
    return text.replace("$", "$$")


@dataclass(frozen=True)
class EnvEntry:
    """One `KEY=value` line of a `.env`; `start`/`end` span the value with its quotes."""

    key: str
    value: str
    start: int
    end: int
    quote: str
    line: int


_ENV_LINE = re.compile(r"[ \t]*(?:export[ \t]+)?(?P<key>[A-Za-z_][A-Za-z0-9_.-]*)[ \t]*=[ \t]*")


def parse_env(text: str) -> list[EnvEntry]:
    """The assignments of a `.env`, in order; comments and other lines are skipped.

    Quoting follows python-dotenv (used by docker-compose v1 and mirrored by v2):
    '...' literal, "..." with backslash escapes, unquoted up to a ` #` comment.
    """
    entries: list[EnvEntry] = []
    offset = 0
    for number, raw in enumerate(text.splitlines(keepends=True), start=1):
        line = raw.rstrip("\r\n")
        found = _ENV_LINE.match(line)
        if found and not line.lstrip().startswith("#"):
            entries.append(_env_entry(found["key"], line, found.end(), offset, number))
        offset += len(raw)
    return entries


def _env_entry(key: str, line: str, at: int, offset: int, number: int) -> EnvEntry:
    rest = line[at:]
    if rest[:1] == "'" and "'" in rest[1:]:
        close = rest.index("'", 1)
        return EnvEntry(key, rest[1:close], offset + at, offset + at + close + 1, "'", number)
    if rest[:1] == '"':
        escaped = re.match(r'"((?:[^"\\]|\\.)*)"', rest)
        if escaped:
            value = re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], escaped[1])
            return EnvEntry(key, value, offset + at, offset + at + escaped.end(), '"', number)
    comment = re.search(r"[ \t]#", rest)
    value = (rest[: comment.start()] if comment else rest).rstrip()
    return EnvEntry(key, value, offset + at, offset + at + len(value), "", number)


def env_values(entries: list[EnvEntry], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Variable values; a key set twice takes its last value, as compose does.

    Unquoted and double-quoted values may refer to variables set above them (or in the
    environment), as python-dotenv expands them; single-quoted values are literal.
    """
    values: dict[str, str] = {}
    for entry in entries:
        literal = entry.quote == "'" or "$" not in entry.value
        values[entry.key] = entry.value if literal else _expand_env(entry.value, values, environ)
    return values


def _expand_env(value: str, known: Mapping[str, str], environ: Mapping[str, str] | None) -> str:
    try:
        return interpolate(value, known, environ or {})
    except ComposeError:
        return value  # python-dotenv keeps what it cannot expand as written


def encode_env_value(value: str, quote: str) -> str:
    """`value` written for a `.env` in the user's quoting, quoting only when it must."""
    if quote == "" and re.fullmatch(r"[^\s#'\"$\\]*", value):
        return value
    if quote in ("", "'") and "'" not in value and "\n" not in value:
        return f"'{value}'"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def rewrite_env(text: str, entries: list[EnvEntry], new_values: Mapping[str, str]) -> str:
    """`text` with the effective (last) assignment of each key in `new_values` replaced."""
    last = {entry.key: entry for entry in entries}
    edits = sorted((last[key] for key in new_values), key=lambda entry: entry.start, reverse=True)
    for entry in edits:
        encoded = encode_env_value(new_values[entry.key], entry.quote)
        text = text[: entry.start] + encoded + text[entry.end :]
    return text


def interpolate(
    value: str, dotenv: Mapping[str, str], environ: Mapping[str, str], line: int | None = None
) -> str:
    """`value` with every variable replaced, as compose interpolates it."""
    return "".join(
        part.text if isinstance(part, Literal) else resolve(part, dotenv, environ, line).value
        for part in segments(value, line)
    )


def first_separator(value: str, parts: list[Segment]) -> int:
    """Index of the first `:` written outside a variable reference, or -1.

    Short volume syntax is split there; a `:` inside `${VAR:-default}` is not a separator.
    """
    for part in parts:
        if isinstance(part, Literal):
            colon = value.find(":", part.start, part.end)
            if colon >= 0:
                return colon
    return -1
