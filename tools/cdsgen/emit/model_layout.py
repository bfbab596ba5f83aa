"""The layout of ``cds_models``: datamodel-code-generator's output made to read like the
client and the server, and to pass the project's ruff configuration as it is.

* class docstrings wrapped at the project's line length, first line after the quotes;
* each member of an enumeration documented with its value's summary (``x-cds-values``), as an
  attribute docstring under the member, so editors show it;
* string literals longer than a line (field descriptions, mostly) split into implicitly
  concatenated parts at word boundaries, so ``ruff check`` finds no long line.

Each step works on tokens of valid Python source and returns valid Python source; ruff
formats the result afterwards.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from typing import Any

from cdsgen.emit.pysource import docstring

LINE_LENGTH = 100  # [tool.ruff] line-length of pyproject.toml


def wrap_class_docstrings(source: str) -> str:
    """``\"\"\"\\n    text\\n    \"\"\"`` class docstrings as wrapped docstrings."""
    pattern = re.compile(
        r'^(?P<indent>[ ]+)"""\n(?P<body>(?:(?P=indent).*\n)+?)(?P=indent)"""\n', re.M
    )

    def rewrap(m: re.Match) -> str:
        indent = m.group("indent")
        text = " ".join(line.strip() for line in m.group("body").splitlines())
        text = ast.literal_eval('"""' + text + '"""')
        return _docstring_block(text, len(indent))

    source = pattern.sub(rewrap, source)
    one_line = re.compile(r'^(?P<indent>[ ]+)"""(?P<body>.*)"""\n', re.M)

    def rewrap_long(m: re.Match) -> str:
        if len(m.group(0)) - 1 <= LINE_LENGTH:
            return m.group(0)
        text = ast.literal_eval('"""' + m.group("body") + '"""')
        return _docstring_block(text, len(m.group("indent")))

    return one_line.sub(rewrap_long, source)


def _docstring_block(text: str, indent: int) -> str:
    pad = " " * indent
    one_line = f'{pad}"""{docstring(text, indent, LINE_LENGTH)}"""'
    if "\n" not in one_line and len(one_line) <= LINE_LENGTH:
        return one_line + "\n"
    body = docstring(text, indent, LINE_LENGTH - 3)
    if "\n" not in body:  # fits the width, but not with the quotes: break before its end
        body = docstring(text, indent, indent + len(text) * 3 // 4)
    return f'{pad}"""{body}\n{pad}"""\n'


def document_enum_members(source: str, schemas: dict[str, Any]) -> str:
    """Put each enum value's summary under its member (an attribute docstring)."""
    lines = source.splitlines(keepends=True)
    out: list[str] = []
    values: dict[str, str] | None = None
    member = re.compile(r'^    (\w+) = "((?:[^"\\]|\\.)*)"\n$')
    for line in lines:
        head = re.match(r"^class (\w+)\((?:StrEnum|Enum)\):", line)
        if head:
            values = schemas.get(head.group(1), {}).get("x-cds-values")
        elif line.strip() and not line.startswith(" "):
            values = None
        out.append(line)
        m = member.match(line) if values else None
        if m and values is not None:
            summary = values.get(ast.literal_eval(f'"{m.group(2)}"'))
            if summary:
                out.append(_docstring_block(summary, 4))
    return "".join(out)


def split_long_strings(source: str) -> str:
    """Split every one-line string literal on a line longer than the limit into parts that
    fit, implicitly concatenated (inside parentheses unless it already is a part of such a
    concatenation inside brackets).

    Only the top-level statements holding a long line are tokenized (tokenizing the whole
    module, three times a run, was most of the models' finishing time)."""
    lines = source.splitlines(keepends=True)
    out: list[str] = []
    try:
        for start, end in _statements(lines):
            block = lines[start:end]
            if any(len(line.rstrip("\n")) > LINE_LENGTH for line in block):
                block = _split_in_statement(block)
            out.extend(block)
    except (tokenize.TokenError, SyntaxError):  # a range that is not a whole statement
        out = _split_in_statement(lines)
    return "".join(out)


#: A line that starts a top-level statement of the generated module.
_STATEMENT = re.compile(r"(?:class |def |@|from |import |[A-Za-z_]\w*(?: = |: ))")


def _statements(lines: list[str]) -> list[tuple[int, int]]:
    """``(first, end)`` line ranges of the module's top-level statements: a range starts at
    each unindented line that begins a statement; lines before the first (the module
    docstring) form a range of their own."""
    starts = [i for i, line in enumerate(lines) if _STATEMENT.match(line)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    return list(zip(starts, [*starts[1:], len(lines)], strict=True))


def _split_in_statement(lines: list[str]) -> list[str]:
    source = "".join(lines)
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    edits: list[tuple[int, int, int, str]] = []
    significant = [t for t in tokens if t.type not in (tokenize.NL, tokenize.COMMENT)]
    for i, tok in enumerate(significant):
        if tok.type != tokenize.STRING or tok.start[0] != tok.end[0]:
            continue
        row, col = tok.start
        if len(lines[row - 1].rstrip("\n")) <= LINE_LENGTH or tok.string[0] not in "\"'":
            continue
        if tok.string.startswith(('"""', "'''")):
            continue  # a docstring, wrapped by wrap_class_docstrings
        value = ast.literal_eval(tok.string)
        if not isinstance(value, str):
            continue
        width = max(LINE_LENGTH - col - 8, 40)
        parts = _split(value, width)
        if len(parts) < 2:
            continue
        joined = ("\n" + " " * col).join(_literal(p) for p in parts)
        neighbours = (significant[i - 1] if i else None, significant[i + 1])
        in_concatenation = any(n is not None and n.type == tokenize.STRING for n in neighbours)
        text = joined if in_concatenation else f"(\n{' ' * col}{joined}\n)"
        edits.append((row, col, tok.end[1], text))
    lines = list(lines)
    for row, start, end, text in reversed(edits):
        line = lines[row - 1]
        lines[row - 1] = line[:start] + text + line[end:]
    return lines


def _split(value: str, width: int) -> list[str]:
    """Parts of ``value`` at most ``width`` characters long (as literals), cut after spaces,
    or after ``/`` in words longer than that (URLs); concatenated they give ``value``."""
    words = re.findall(r"\S+\s*|\s+", value)
    parts: list[str] = []
    current = ""
    for word in words:
        while len(_literal(word)) > width:  # a URL or other long word: cut after slashes
            cut = word.rfind("/", 0, width - 2)
            if cut <= 0:
                break
            if current:
                parts.append(current)
                current = ""
            parts.append(word[: cut + 1])
            word = word[cut + 1 :]
        if current and len(_literal(current + word)) > width:
            parts.append(current)
            current = ""
        current += word
    if current:
        parts.append(current)
    return parts


def _literal(text: str) -> str:
    """A Python string literal (ruff chooses the quotes afterwards)."""
    return repr(text)


def layout(source: str, schemas: dict[str, Any]) -> str:
    """All of the above, in order (docstrings before long strings: they are never split)."""
    source = wrap_class_docstrings(source)
    source = document_enum_members(source, schemas)
    return split_long_strings(source)
