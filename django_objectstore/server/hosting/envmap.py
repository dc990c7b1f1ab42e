"""The map/array syntax the real server's config library accepts in environment variables.

``OS__AUTH__KEYS={kid={key_files=["/keys/pub.pem"],max_permissions=["object.read"]}}``:

- ``{name=value, ...}`` is a map (names are bare words or quoted strings),
- ``[value, ...]`` is an array,
- ``"..."`` (or ``'...'``) is a string; ``\\`` escapes the next character,
- anything else up to ``,``, ``}`` or ``]`` is a bare word (surrounding spaces trimmed).

Trailing commas are allowed. Values come back as ``dict``, ``list`` and ``str``; turning
``"true"`` into a boolean is the settings loader's business.
"""

from __future__ import annotations

EnvValue = str | list["EnvValue"] | dict[str, "EnvValue"]

_DELIMITERS = ",]}"


class EnvMapError(ValueError):
    """A syntax error, with the position where parsing stopped."""


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, message: str) -> EnvMapError:
        return EnvMapError(f"{message} at position {self.pos} of {self.text!r}")

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        self.skip_spaces()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            found = repr(self.peek()) if self.peek() else "the end"
            raise self.error(f"expected {char!r} but found {found}")
        self.pos += 1

    def value(self) -> EnvValue:
        char = self.peek()
        if char == "{":
            return self.map()
        if char == "[":
            return self.array()
        if char in ("'", '"'):
            return self.quoted()
        return self.bare()

    def map(self) -> dict[str, EnvValue]:
        self.expect("{")
        result: dict[str, EnvValue] = {}
        while self.peek() != "}":
            name = self.quoted() if self.peek() in ("'", '"') else self.bare("=")
            if not name:
                raise self.error("expected a name")
            self.expect("=")
            result[name] = self.value()
            if self.peek() != ",":
                break
            self.pos += 1
        self.expect("}")
        return result

    def array(self) -> list[EnvValue]:
        self.expect("[")
        result: list[EnvValue] = []
        while self.peek() != "]":
            result.append(self.value())
            if self.peek() != ",":
                break
            self.pos += 1
        self.expect("]")
        return result

    def quoted(self) -> str:
        quote = self.peek()
        self.pos += 1
        chars: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            self.pos += 1
            if char == quote:
                return "".join(chars)
            if char == "\\" and self.pos < len(self.text):
                char = self.text[self.pos]
                self.pos += 1
            chars.append(char)
        raise self.error(f"unterminated string (missing closing {quote})")

    def bare(self, extra: str = "") -> str:
        self.skip_spaces()
        start = self.pos
        stops = _DELIMITERS + extra + "{["
        while self.pos < len(self.text) and self.text[self.pos] not in stops:
            self.pos += 1
        return self.text[start : self.pos].strip()


def parse_env_value(text: str) -> EnvValue:
    """Parse a whole variable value; ``EnvMapError`` on syntax errors or trailing text."""
    parser = _Parser(text)
    if parser.peek() not in ("{", "["):
        return text.strip()
    value = parser.value()
    if parser.peek():
        raise parser.error("unexpected text after the value")
    return value
