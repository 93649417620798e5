"""How a key name (bytes) is written in every output: one lossless, unambiguous text form.

A name that is valid UTF-8 and holds no backslash, no control character (C0, DEL, C1), no
line or paragraph separator and no bidirectional control is written as it is, and that text
is the key. Every other name is written escaped and comes with its exact bytes in base64
(``name_base64`` next to ``name``, ``key_base64`` next to ``key``, ...). In the escaped form
``\\\\`` is a backslash, ``\\xHH`` one byte (an undecodable byte or an ASCII control), and
``\\uHHHH`` one code point (a C1 control, a separator or a bidi control); every other
character is itself. An escaped name always holds a backslash and a plain one never does,
so the text alone tells them apart and decodes back to the bytes (``name_bytes``).

A reader's rule: where the base64 field is present, it is the key; else the text is.
"""

from __future__ import annotations

import base64
import re

_UNSAFE = re.compile("[\\\\\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
"""Characters that make a name be written escaped."""

_ESCAPE = re.compile(r"\\(?:\\|x([0-9a-f]{2})|u([0-9a-f]{4}))")


def _escape_char(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, as surrogateescape carries it
        return f"\\x{code - 0xDC00:02x}"
    if ch == "\\":
        return "\\\\"
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02x}"
    if _UNSAFE.match(ch):
        return f"\\u{code:04x}"
    return ch


def name_text(raw: bytes) -> tuple[str, str | None]:
    """The name as written, and its bytes in base64 where the name had to be escaped."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if _UNSAFE.search(text) is None:
            return text, None
    loose = raw.decode("utf-8", "surrogateescape")
    escaped = "".join(_escape_char(ch) for ch in loose)
    return escaped, base64.b64encode(raw).decode("ascii")


def name_bytes(text: str, b64: str | None = None) -> bytes:
    """The key bytes a written name stands for: its base64 where given, else its text."""
    if b64 is not None:
        return base64.b64decode(b64, validate=True)
    if "\\" not in text:
        return text.encode("utf-8")
    out = bytearray()
    pos = 0
    for m in _ESCAPE.finditer(text):
        out += text[pos : m.start()].encode("utf-8")
        if m.group(1) is not None:
            out.append(int(m.group(1), 16))
        elif m.group(2) is not None:
            out += chr(int(m.group(2), 16)).encode("utf-8")
        else:
            out += b"\\"
        pos = m.end()
    out += text[pos:].encode("utf-8")
    return bytes(out)
