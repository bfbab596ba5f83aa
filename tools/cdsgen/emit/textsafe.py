"""Text of the source made safe for every artefact: no control character and no bidi
override is ever written raw.

A description may hold anything YAML can carry (``"\\0"``, ``"\\e"``, ``"\\u202e"`` …). Raw in
an output such characters break it (a NUL ends Python source) or hide what it says (a bidi
override makes code read differently than it runs, the "Trojan Source" trick). Each writer
here escapes them in its own language, so the value read back is the same text.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

#: C0 controls other than tab and line feed, DEL, C1 controls, the Unicode line and paragraph
#: separators, and the bidi embeddings, overrides and isolates.
INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def escape_char(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with every invisible character written as a backslash escape (``\\x00``,
    ``\\u202e``), for places that show text to a reader (site pages, messages)."""
    return INVISIBLE.sub(lambda m: escape_char(m.group()), text)


def json_text(data: Any, indent: int = 2) -> str:
    """JSON as the artefacts write it (UTF-8 text, ``indent``), with invisible characters as
    ``\\u`` escapes; they can occur only inside strings, where the escape means the same."""
    text = json.dumps(data, indent=indent, ensure_ascii=False)
    return INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class _Representer:
    """Strings holding invisible characters are written double-quoted, the one YAML style
    where a ``\\u`` escape can stand for them."""

    @staticmethod
    def represent_str(dumper: yaml.BaseDumper, value: str) -> yaml.ScalarNode:
        if INVISIBLE.search(value):
            return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
        return dumper.represent_str(value)


def yaml_text(data: Any, dumper: type[yaml.SafeDumper], **options: Any) -> str:
    """``yaml.dump`` with ``dumper`` and ``options``; invisible characters as ``\\u`` escapes
    in double-quoted strings."""

    class SafeTextDumper(dumper):  # type: ignore[misc, valid-type]
        pass

    SafeTextDumper.add_representer(str, _Representer.represent_str)
    text = yaml.dump(data, Dumper=SafeTextDumper, **options)
    return INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
