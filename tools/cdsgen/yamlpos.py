"""YAML loading that remembers where every key and value came from, and never crashes.

The source is built straight from PyYAML's (C) *event* stream by a small iterative composer, so

* every key and value keeps its position in a side table ``{path-tuple: Pos}`` for later checks;
* duplicate mapping keys, which PyYAML would silently overwrite, are reported;
* nesting deeper than :data:`MAX_DEPTH` is refused (PyYAML's own recursive composer ends in a
  ``RecursionError`` from about 1,000 levels);
* anchors and aliases are refused: the source never needs them, and refusing them is the only
  bound on "billion laughs" expansion that costs nothing;
* explicit tags (``!include``, ``!!python/name:…``) are refused instead of raising
  ``ConstructorError``;
* control characters, NUL and undecodable bytes are reported at their line and column before
  the parser sees them.

Every failure becomes a diagnostic with a position; :func:`load_yaml` returns ``None`` then.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from cdsgen.diagnostics import Diagnostics, Pos

try:
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - pure-Python PyYAML
    _Loader = yaml.SafeLoader  # type: ignore[misc]

PathKey = tuple[str | int, ...]

#: Deepest nesting of mappings and sequences accepted; the source needs about 12.
MAX_DEPTH = 64

#: Characters YAML forbids or that only hide mistakes: C0 controls other than tab, line feed
#: and carriage return, DEL, C1 controls other than NEL, lone surrogates, and U+FFFE/U+FFFF.
_FORBIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]"
)

_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass
class LoadedYaml:
    data: Any
    file: str
    #: Position of each value, by path; for mapping entries the position of the key.
    positions: dict[PathKey, Pos] = field(default_factory=dict)
    #: Position of the value itself (not its key), by path.
    value_positions: dict[PathKey, Pos] = field(default_factory=dict)

    def pos(self, path: PathKey) -> Pos:
        """Position of the deepest known prefix of ``path``."""
        p = tuple(path)
        while p:
            if p in self.positions:
                return self.positions[p]
            p = p[:-1]
        return Pos(self.file, 1, 1)

    def value_pos(self, path: PathKey) -> Pos:
        return self.value_positions.get(tuple(path)) or self.pos(path)


class _Refused(Exception):
    """A construct the source may not use; carries the position and the rule it breaks."""

    def __init__(self, pos: Pos, rule: str, message: str):
        super().__init__(message)
        self.pos, self.rule, self.message = pos, rule, message


def decode_source(raw: bytes, file: str, diags: Diagnostics) -> str | None:
    """UTF-8 text of ``raw``; undecodable bytes and forbidden characters are reported at their
    line and column (not as a byte offset) and give ``None``."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = exc.start + (3 if raw.startswith(b"\xef\xbb\xbf") else 0)
        before = raw[:start]
        line = before.count(b"\n") + 1
        col = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        bad = raw[start : start + 1].hex()
        diags.error(
            Pos(file, line, col),
            f"not UTF-8: byte 0x{bad} cannot be decoded; save the file as UTF-8",
            rule="encoding",
        )
        return None
    return None if _report_forbidden(text, file, diags) else text


def _report_forbidden(text: str, file: str, diags: Diagnostics) -> bool:
    """Report the first forbidden character of ``text`` at its line and column."""
    found = _FORBIDDEN.search(text)
    if found is None:
        return False
    char = found.group()
    before = text[: found.start()]
    line = before.count("\n") + 1
    col = found.start() - (before.rfind("\n") + 1) + 1
    code = f"U+{ord(char):04X}"
    if char == "\x00":
        message = f"NUL byte ({code}) is not allowed in the source"
    elif "\ud800" <= char <= "\udfff":
        message = f"lone surrogate {code} is not a character; write the text it was meant to be"
    else:
        message = (
            f"control character {code} is not allowed in the source; "
            "write it as an escape in a double-quoted string"
        )
    diags.error(Pos(file, line, col), message, rule="control-character")
    return True


def load_yaml(text: str, file: str, diags: Diagnostics) -> LoadedYaml | None:
    """Parse ``text``; on any problem report it with its position and return None."""
    if _report_forbidden(text, file, diags):
        return None
    loader = _Loader(text)
    out = LoadedYaml({}, file)
    try:
        out.data = _compose(loader, out, diags)
    except _Refused as exc:
        diags.error(exc.pos, exc.message, rule=exc.rule)
        return None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = _syntax_message(exc, text, mark)
        diags.error(Pos(file, line, col), f"YAML syntax error: {message}", rule="yaml-syntax")
        return None
    except yaml.YAMLError as exc:  # reader errors carry no line; report what we know
        diags.error(Pos(file), f"YAML error: {exc}", rule="yaml-syntax")
        return None
    finally:
        loader.dispose()
    return out


def _syntax_message(exc: yaml.MarkedYAMLError, text: str, mark: Any) -> str:
    """PyYAML's problem, with the character it stopped at and where the construct began."""
    problem = exc.problem or exc.context or str(exc)
    if "cannot start any token" in problem and mark is not None:
        char = text[mark.index] if mark.index < len(text) else ""
        problem = f"found character {char!r} that cannot start any token"
        if char == "\t":
            problem += " (a tab: indent with spaces)"
    context, start = exc.context, exc.context_mark
    elsewhere = start is not None and (start.line, start.column) != (mark.line, mark.column)
    if context and exc.problem and elsewhere:
        problem += f" ({context} at line {start.line + 1}, column {start.column + 1})"
    return problem


def _mark(mark: Any, file: str) -> Pos:
    return Pos(file, mark.line + 1, mark.column + 1)


@dataclass
class _Open:
    """A mapping or sequence being filled; ``key`` is a mapping's pending key."""

    value: dict | list
    path: PathKey
    key: str | None = None
    key_pos: Pos | None = None


def _compose(loader: Any, out: LoadedYaml, diags: Diagnostics) -> Any:
    """Build plain data from the event stream of one document, iteratively."""
    stack: list[_Open] = []
    root: Any = None
    documents = 0
    while True:
        event = loader.get_event()
        if isinstance(event, yaml.StreamEndEvent):
            return {} if root is None else root
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise _Refused(
                    _mark(event.start_mark, out.file),
                    "yaml-syntax",
                    "a source file holds one YAML document; remove the second `---`",
                )
            continue
        if isinstance(event, (yaml.StreamStartEvent, yaml.DocumentEndEvent)):
            continue
        pos = _mark(event.start_mark, out.file)
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(
                pos, "yaml-alias", f"aliases (*{event.anchor}) are not allowed; repeat the text"
            )
        if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            done = stack.pop()
            if not stack:
                root = done.value
            continue
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise _Refused(pos, "yaml-alias", f"anchors (&{anchor}) are not allowed")
        tag = getattr(event, "tag", None)
        if tag is not None and tag != "!" and not _plain_tag(event):
            raise _Refused(
                pos, "yaml-tag", f"tag '{tag}' is not allowed; the source uses plain YAML only"
            )
        parent = stack[-1] if stack else None
        # a mapping's key
        if parent is not None and isinstance(parent.value, dict) and parent.key is None:
            if not isinstance(event, yaml.ScalarEvent):
                raise _Refused(pos, "yaml-key", "a key must be plain text, not a mapping or list")
            key = _key_text(loader, event, pos)
            if key in parent.value or parent.path + (key,) in out.positions:
                first = out.positions[parent.path + (key,)]
                diags.error(
                    pos,
                    f"duplicate key '{key}' (first defined at line {first.line})",
                    rule="duplicate-key",
                )
                parent.key, parent.key_pos = "\x00dup", pos  # value is read and dropped
            else:
                parent.key, parent.key_pos = key, pos
                out.positions[parent.path + (key,)] = pos
            continue
        # a value: where it goes
        if parent is None:
            path: PathKey = ()
        elif isinstance(parent.value, dict):
            path = parent.path + (parent.key,)  # type: ignore[operator]
        else:
            path = parent.path + (len(parent.value),)
            out.positions[path] = pos
        out.value_positions[path] = pos
        if isinstance(event, yaml.ScalarEvent):
            value = _scalar(loader, event, pos)
            if isinstance(value, str) and _SURROGATE.search(value):
                raise _Refused(
                    pos,
                    "control-character",
                    "an escape gives a lone surrogate (\\ud800-\\udfff), which is not a "
                    "character and cannot be written as UTF-8; escape the code point itself",
                )
        elif isinstance(event, yaml.MappingStartEvent):
            value = {}
        elif isinstance(event, yaml.SequenceStartEvent):
            value = []
        else:  # pragma: no cover - every event kind is handled above
            raise _Refused(pos, "yaml-syntax", f"unexpected {type(event).__name__}")
        if parent is None:
            root = value
        elif isinstance(parent.value, dict):
            if parent.key != "\x00dup":
                parent.value[parent.key] = value
            else:
                out.value_positions.pop(path, None)
            parent.key = None
        else:
            parent.value.append(value)
        if isinstance(value, (dict, list)) and not isinstance(event, yaml.ScalarEvent):
            if len(stack) >= MAX_DEPTH:
                raise _Refused(
                    pos,
                    "yaml-depth",
                    f"nesting deeper than {MAX_DEPTH} levels; the source never needs so many",
                )
            stack.append(_Open(value, path if parent is None or parent.key != "\x00dup" else path))


def _plain_tag(event: Any) -> bool:
    """``!!str`` and friends are harmless: they only say what the value already is."""
    return event.tag in {
        "tag:yaml.org,2002:str",
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float",
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:null",
        "tag:yaml.org,2002:map",
        "tag:yaml.org,2002:seq",
    }


def _scalar(loader: Any, event: Any, pos: Pos) -> Any:
    """The Python value of a scalar, resolved exactly as ``yaml.safe_load`` would."""
    tag = event.tag
    if tag is None or tag == "!":
        value = event.value
        # fast path for the common case: quoted text, or plain text no implicit type can match
        if not event.implicit[0] or (value and value[0] not in loader.yaml_implicit_resolvers):
            return value
        tag = loader.resolve(yaml.ScalarNode, value, event.implicit)
        if tag == "tag:yaml.org,2002:str":
            return value
    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
    construct = loader.yaml_constructors.get(tag)
    if construct is None:  # e.g. the merge key `<<`
        raise _Refused(pos, "yaml-tag", f"'{event.value[:40]}' has no meaning in the source")
    try:
        # called directly, not through construct_object, which would keep every node alive
        return construct(loader, node)
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        raise _Refused(
            pos, "yaml-value", f"cannot read value {event.value[:40]!r}: {exc}"
        ) from None


def _key_text(loader: Any, event: Any, pos: Pos) -> str:
    key = _scalar(loader, event, pos)
    if isinstance(key, str):
        if _SURROGATE.search(key):
            raise _Refused(pos, "control-character", "a key holds a lone surrogate")
        return key
    return str(key).lower() if isinstance(key, bool) or key is None else str(key)
