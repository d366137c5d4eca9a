"""Telegram's `parse_mode=HTML`, modelled on tdlib's parser, with its error wording.

`parse_html` returns the plain text and the entity list (offsets in UTF-16 code units, as
the Bot API counts them) or raises `EntityParseError` with the detail Telegram puts after
"Bad Request: can't parse entities: ".

One deliberate difference: tdlib keeps a bare `&` that starts no known entity as a literal
character; Telegram's documentation says it must be escaped, and so by default (`strict=True`)
the emulator rejects it, which catches a missing `html.escape()` on user text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_ALLOWED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    }
)
_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACES = " \t\n\r\f\v"
_MARKUP = re.compile("[&<]")


class EntityParseError(ValueError):
    """Markup Telegram refuses; `str(err)` is the detail after "can't parse entities: "."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Bot API entity offsets."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


@dataclass
class _Open:
    tag: str
    argument: str
    offset: int  # UTF-16 offset in the result
    start: int  # index in the result string


class _Parser:
    def __init__(self, source: str, *, strict: bool) -> None:
        self.src = source
        self.strict = strict
        self.out: list[str] = []
        self.utf16 = 0
        self.stack: list[_Open] = []
        self.entities: list[dict[str, Any]] = []

    def byte_offset(self, index: int) -> int:
        return len(self.src[:index].encode("utf-8"))

    def fail(self, message: str) -> EntityParseError:
        return EntityParseError(message)

    def at(self, i: int) -> str:
        return self.src[i] if i < len(self.src) else ""

    def emit(self, chars: str) -> None:
        """Add `chars` to the result: a decoded entity, or a run of plain text."""
        self.out.append(chars)
        self.utf16 += utf16_len(chars)

    def decode_entity(self, i: int) -> tuple[str, int] | None:
        """Decode an HTML entity starting at `&` (src[i]); None if it is not one."""
        src = self.src
        end = i + 1
        if self.at(end) == "#":
            end += 1
            if self.at(end) == "x":
                end += 1
                begin = end
                while self.at(end) and self.at(end) in "0123456789abcdefABCDEF":
                    end += 1
                code = int(src[begin:end], 16) if end > begin else 0
            else:
                begin = end
                while self.at(end).isdigit() and self.at(end).isascii():
                    end += 1
                code = int(src[begin:end]) if end > begin else 0
            if code == 0 or code >= 0x10FFFF or end - i >= 10 or 0xD800 <= code <= 0xDFFF:
                return None
            char = chr(code)
        else:
            while self.at(end).isascii() and self.at(end).isalpha():
                end += 1
            named = _NAMED_ENTITIES.get(src[i + 1 : end])
            if named is None:
                return None
            char = named
        if self.at(end) == ";":
            end += 1
        return char, end

    def ampersand(self, i: int) -> tuple[str, int]:
        decoded = self.decode_entity(i)
        if decoded is not None:
            return decoded
        if self.strict:
            raise self.fail(
                f'Unescaped "&" at byte offset {self.byte_offset(i)}: '
                "write &amp; (Telegram docs; the emulator is strict here)"
            )
        return "&", i + 1

    def parse(self) -> tuple[str, list[dict[str, Any]]]:
        i = 0
        src = self.src
        while i < len(src):
            char = src[i]
            if char == "&":
                decoded, i = self.ampersand(i)
                self.emit(decoded)
            elif char != "<":  # plain text up to the next markup, in one piece
                markup = _MARKUP.search(src, i)
                end = len(src) if markup is None else markup.start()
                self.emit(src[i:end])
                i = end
            elif self.at(i + 1) == "/":
                i = self.end_tag(i)
            else:
                i = self.start_tag(i)
        if self.stack:
            raise self.fail(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].tag}"'
            )
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def skip_spaces(self, i: int) -> int:
        while self.at(i) and self.at(i) in _SPACES:
            i += 1
        return i

    def start_tag(self, begin: int) -> int:
        i = begin + 1
        while self.at(i) and self.at(i) not in _SPACES and self.at(i) != ">":
            i += 1
        offset = self.byte_offset(begin)
        if not self.at(i):
            raise self.fail(f"Unclosed start tag at byte offset {offset}")
        tag = self.src[begin + 1 : i].lower()
        if tag not in _ALLOWED_TAGS:
            raise self.fail(f'Unsupported start tag "{tag}" at byte offset {offset}')
        argument = ""
        while True:
            i = self.skip_spaces(i)
            if not self.at(i):
                raise self.fail(f"Unclosed start tag at byte offset {offset}")
            if self.at(i) == ">":
                break
            name_begin = i
            while self.at(i) and self.at(i) not in _SPACES and self.at(i) not in "=>":
                i += 1
            name = self.src[name_begin:i].lower()
            if not name:
                raise self.fail(f'Empty attribute name in the tag "{tag}" at byte offset {offset}')
            i = self.skip_spaces(i)
            if not self.at(i):
                raise self.fail(f'Unclosed start tag "{tag}" at byte offset {offset}')
            if self.at(i) != "=":
                if tag == "blockquote" and name == "expandable":
                    argument = "1"
                continue  # a value-less attribute
            i = self.skip_spaces(i + 1)
            if not self.at(i):
                raise self.fail(f"Unclosed start tag at byte offset {offset}")
            value, i = self.attribute_value(i)
            if not self.at(i):
                raise self.fail(f"Unclosed start tag at byte offset {offset}")
            argument = _argument(tag, name, value, argument)
        if tag == "span" and argument != "spoiler":
            raise self.fail(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
        if tag == "tg-emoji" and not (argument.isdigit() and 0 < int(argument) < 2**63):
            raise self.fail("Invalid custom emoji identifier specified")
        self.stack.append(_Open(tag, argument, self.utf16, len(self.out)))
        return i + 1

    def attribute_value(self, i: int) -> tuple[str, int]:
        quote = self.at(i)
        if quote not in "'\"":
            begin = i
            while self.at(i) and (self.at(i).isalnum() or self.at(i) in ".-"):
                i += 1
            if self.at(i) and self.at(i) not in _SPACES and self.at(i) != ">":
                raise self.fail(
                    f"Unexpected end of name token at byte offset {self.byte_offset(begin)}"
                )
            return self.src[begin:i].lower(), i
        i += 1
        value: list[str] = []
        while self.at(i) and self.at(i) != quote:
            if self.at(i) == "&":
                decoded = self.decode_entity(i)
                if decoded is not None:
                    value.append(decoded[0])
                    i = decoded[1]
                    continue
            value.append(self.at(i))
            i += 1
        if self.at(i) == quote:
            i += 1
        return "".join(value), i

    def end_tag(self, begin: int) -> int:
        offset = self.byte_offset(begin)
        if not self.stack:
            raise self.fail(f"Unexpected end tag at byte offset {offset}")
        i = begin + 2
        while self.at(i) and self.at(i) not in _SPACES and self.at(i) != ">":
            i += 1
        name = self.src[begin + 2 : i].lower()
        i = self.skip_spaces(i)
        if self.at(i) != ">":
            raise self.fail(f"Unclosed end tag at byte offset {offset}")
        opened = self.stack.pop()
        if name and name != opened.tag:
            raise self.fail(
                f"Unmatched end tag at byte offset {offset}, "
                f'expected "</{opened.tag}>", found "</{name}>"'
            )
        self.close(opened)
        return i + 1

    def close(self, opened: _Open) -> None:
        length = self.utf16 - opened.offset
        if length <= 0:
            return
        entity: dict[str, Any] = {"offset": opened.offset, "length": length}
        tag, argument = opened.tag, opened.argument
        if tag == "a":
            url = argument or "".join(self.out[opened.start :])
            if not url.strip():
                return
            entity.update(type="text_link", url=url)
        elif tag == "blockquote":
            entity["type"] = "expandable_blockquote" if argument else "blockquote"
        elif tag == "tg-emoji":
            entity.update(type="custom_emoji", custom_emoji_id=argument)
        else:
            entity["type"] = _ENTITY_TYPES[tag]
            if tag == "code" and argument:
                entity["language"] = argument
            if tag == "pre":
                self.merge_code_into_pre(entity)
        self.entities.append(entity)

    def merge_code_into_pre(self, pre: dict[str, Any]) -> None:
        """`<pre><code class="language-x">` is one pre entity with a language."""
        for other in self.entities:
            same_span = (other["offset"], other["length"]) == (pre["offset"], pre["length"])
            if other["type"] == "code" and same_span:
                self.entities.remove(other)
                if "language" in other:
                    pre["language"] = other["language"]
                return


def _argument(tag: str, name: str, value: str, current: str) -> str:
    if tag == "a" and name == "href":
        return value
    if tag == "code" and name == "class" and value.startswith("language-"):
        return value[len("language-") :]
    if tag == "span" and name == "class" and value.startswith("tg-"):
        return value[len("tg-") :]
    if tag == "tg-emoji" and name == "emoji-id":
        return value
    if tag == "blockquote" and name == "expandable":
        return "1"
    return current


def parse_html(text: str, *, strict: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and Bot API entities for Telegram-HTML `text`; raises `EntityParseError`."""
    return _Parser(text, strict=strict).parse()
