"""Parse the HTTP exchanges the published documents use as examples.

Examples are kept verbatim in the source (``==Request==`` … ``==Response==`` …). Published
bodies are not always valid JSON (trailing commas are common); we parse strictly first and,
failing that, apply only the repairs listed in :data:`REPAIRS`, reporting each one so that an
erratum must account for it.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl

from cdsgen.model import HttpMessage

REQUEST_MARK = "==Request=="
RESPONSE_MARK = "==Response=="


def parse_exchange(text: str, first_line: int) -> tuple[HttpMessage | None, HttpMessage | None]:
    """Split a verbatim exchange into request and response; ``first_line`` is the file line
    of the text's first line (for body positions)."""
    lines = text.split("\n")
    req_at = next((i for i, ln in enumerate(lines) if ln.strip() == REQUEST_MARK), None)
    resp_at = next((i for i, ln in enumerate(lines) if ln.strip() == RESPONSE_MARK), None)
    request = response = None
    if req_at is not None:
        end = resp_at if resp_at is not None and resp_at > req_at else len(lines)
        request = _message(lines, req_at + 1, end, first_line)
    if resp_at is not None:
        response = _message(lines, resp_at + 1, len(lines), first_line)
    return request, response


def parse_json_body(text: str, first_line: int) -> HttpMessage:
    msg = HttpMessage(start_line="", headers=[], body_text=text.strip(), body_line=first_line)
    _parse_body(msg, "application/json")
    return msg


def _message(lines: list[str], start: int, end: int, first_line: int) -> HttpMessage | None:
    i = start
    while i < end and not lines[i].strip():
        i += 1
    if i >= end:
        return None
    start_line = lines[i].strip()
    i += 1
    headers: list[tuple[str, str]] = []
    while i < end and lines[i].strip():
        name, sep, value = lines[i].partition(":")
        if not sep:
            break  # a body with no blank line before it
        headers.append((name.strip(), value.strip()))
        i += 1
    body_start = i
    while body_start < end and not lines[body_start].strip():
        body_start += 1
    body_text = "\n".join(lines[body_start:end]).strip()
    msg = HttpMessage(start_line, headers, body_text, body_line=first_line + body_start)
    _parse_body(msg, msg.header("Content-Type") or "")
    return msg


#: Deepest JSON nesting of an example body; published bodies nest about 8 levels.
MAX_JSON_DEPTH = 64


def _parse_body(msg: HttpMessage, content_type: str) -> None:
    """Parse the body; a body nested beyond :data:`MAX_JSON_DEPTH` is a parse error (it would
    exhaust the recursion of the JSON parser or of the validator)."""
    try:
        _parse_body_text(msg, content_type)
    except RecursionError:
        msg.body, msg.parse_error = None, f"nested deeper than {MAX_JSON_DEPTH} levels"
        return
    if msg.body is not None and _depth(msg.body) > MAX_JSON_DEPTH:
        msg.body, msg.parse_error = None, f"nested deeper than {MAX_JSON_DEPTH} levels"


def _depth(value: object) -> int:
    """Nesting depth of a JSON value, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(node, dict):
            stack.extend((v, level + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, level + 1) for v in node)
    return deepest


def _parse_body_text(msg: HttpMessage, content_type: str) -> None:
    text = msg.body_text
    if not text:
        return
    if text[0] not in "{[":
        if "x-www-form-urlencoded" in content_type or re.fullmatch(r"[^\s=&]+=[^\s]*", text):
            msg.body = dict(parse_qsl(text, keep_blank_values=True))
        return
    msg.body_is_json = True
    try:
        msg.body = json.loads(text)
        return
    except json.JSONDecodeError as exc:
        first_error = exc
    repaired, repairs = repair_json(text)
    for _ in range(200):
        try:
            msg.body = json.loads(repaired)
            msg.repairs = repairs
            return
        except json.JSONDecodeError as exc:
            if exc.msg != "Expecting ',' delimiter":
                line = msg.body_line + first_error.lineno - 1
                msg.parse_error = (
                    f"line {line}: {first_error.msg} (still invalid after repairs: {exc.msg})"
                )
                return
            # insert the missing comma after the previous value
            at = exc.pos
            while at > 0 and repaired[at - 1] in " \t\r\n":
                at -= 1
            repairs.append(f"missing comma at line {repaired.count(chr(10), 0, at) + 1}")
            repaired = repaired[:at] + "," + repaired[at:]


_ELISION = re.compile(r"^\s*\.\.\.,?\s*$")


def repair_json(text: str) -> tuple[str, list[str]]:
    """Remove elisions (``...`` lines), trailing commas and ``//`` comments outside strings;
    say what was removed. Line numbers in the messages are those of the published body."""
    repairs: list[str] = []
    kept = []
    for i, line in enumerate(text.split("\n"), start=1):
        if _ELISION.match(line):
            repairs.append(f"elision (...) at line {i}")
            kept.append("")
        else:
            kept.append(line)
    text = "\n".join(kept)
    out: list[str] = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        ch = text[i]
        if in_string:
            out.append(ch)
            if ch == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if ch == '"':
                in_string = False
            i += 1
            continue
        if ch == '"':
            in_string = True
        elif ch == "/" and text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            repairs.append(f"comment at line {text.count(chr(10), 0, i) + 1}")
            i = end
            continue
        elif ch == ",":
            j = i + 1
            while j < n and text[j] in " \t\r\n":
                j += 1
            if j < n and text[j] in "]}":
                repairs.append(f"trailing comma at line {text.count(chr(10), 0, i) + 1}")
                i += 1
                continue
        out.append(ch)
        i += 1
    return "".join(out), repairs
