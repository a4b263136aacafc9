"""Text typed by people: one form for the same text, and no invisible characters.

Every text saraban takes in (letter specs, directory rows, programme definitions and contacts, letters
received from outside) goes through :func:`clean_text`, so that the same words typed two ways are one
letter (one spec hash, one number) and nothing is stored that a reader cannot see.

* NFC, then what NFC leaves apart in Thai: sara am typed as nikhahit + sara aa (``ํา``, U+0E4D U+0E32)
  becomes ``ำ`` (U+0E33, whose decomposition is a compatibility one, so NFC keeps the two apart), also
  with a tone mark typed between them (``ํ่า`` → ``่ำ``); a tone mark typed before an upper vowel
  (``ก่ิ``) goes after it (``กิ่``; NFC does not reorder them: the upper vowels are starters); two sara e
  typed for sara ae (``เเ``) become ``แ``; a mark typed twice in a row is kept once.
* Refused, with the field named: control characters (C0, DEL, C1; tab and newline only where a field
  holds several lines) and the invisible format characters that change how text reads or compares:
  zero-width space/joiners and marks (U+200B–U+200F), bidi embeddings and overrides (U+202A–U+202E),
  bidi isolates (U+2066–U+2069), word joiner (U+2060), line/paragraph separators (U+2028–U+2029),
  the byte order mark (U+FEFF) and the non-characters U+FFFE/U+FFFF.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

NIKHAHIT, SARA_AA, SARA_AM = "\u0e4d", "\u0e32", "\u0e33"
_TONES = "\u0e48-\u0e4b"
_UPPER_VOWELS = "\u0e31\u0e34-\u0e37\u0e47"
_DECOMPOSED_AM = re.compile(f"{NIKHAHIT}([{_TONES}]?){SARA_AA}")
_TONE_BEFORE_VOWEL = re.compile(f"([{_TONES}])([{_UPPER_VOWELS}])")
_DOUBLED_MARK = re.compile("([\u0e31\u0e34-\u0e3a\u0e47-\u0e4e])\\1+")

_INVISIBLE = "\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\u2028\u2029\ufeff\ufffe\uffff"
_REFUSED_ONE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_INVISIBLE}]")
_REFUSED_LINES = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_INVISIBLE}]")  # tab and newline allowed


class TextInputError(ValueError):
    """Text with a character saraban does not store; the message names the field and the character."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


def normalise_text(text: str) -> str:
    """The one form of ``text``: NFC and the Thai rules above; CR LF and a lone CR become LF.

    >>> normalise_text("น\\u0e4d\\u0e32") == "น\\u0e33"
    True
    >>> normalise_text("ก\\u0e4d\\u0e48\\u0e32") == "ก\\u0e48\\u0e33"
    True
    >>> normalise_text("ก\\u0e48\\u0e34") == "ก\\u0e34\\u0e48"
    True
    >>> normalise_text("เเก") == "แก"
    True
    """
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    if not any("\u0e00" <= c <= "\u0e7f" for c in text):
        return text
    text = _DECOMPOSED_AM.sub(lambda m: m[1] + SARA_AM, text)
    text = _TONE_BEFORE_VOWEL.sub(r"\2\1", text)
    text = _DOUBLED_MARK.sub(r"\1", text)
    return text.replace("\u0e40\u0e40", "\u0e41")


def refused_character(text: str, *, multiline: bool = False) -> str | None:
    """The first character of ``text`` that is refused, described (``U+200B ZERO WIDTH SPACE``), or None."""
    found = (_REFUSED_LINES if multiline else _REFUSED_ONE_LINE).search(text)
    if found is None:
        return None
    c = found[0]
    return f"U+{ord(c):04X} {unicodedata.name(c, 'CONTROL CHARACTER')}"


def text_problem(text: str, *, multiline: bool = False) -> str | None:
    """Why ``text`` is refused (Thai, then English), or None."""
    char = refused_character(text, multiline=multiline)
    if char is None:
        return None
    return (f"มีอักขระควบคุมหรืออักขระที่มองไม่เห็น ({char}) ลบออก / contains a control character or an invisible one "
            f"({char}); remove it")


def clean_text(text: str, *, field: str = "", multiline: bool = False) -> str:
    """``text`` normalised (:func:`normalise_text`); a refused character raises :class:`TextInputError`
    naming ``field``.

    >>> try:
    ...     clean_text("a\\x1bb", field="name")
    ... except TextInputError as e:
    ...     print(e.field, "U+001B" in str(e))
    name True
    """
    text = normalise_text(text)
    problem = text_problem(text, multiline=multiline)
    if problem:
        raise TextInputError(field, problem)
    return text


def normalise_data(data: Any) -> Any:
    """Every string in ``data`` (mappings, lists, keys too) normalised; nothing refused here."""
    if isinstance(data, str):
        return normalise_text(data)
    if isinstance(data, Mapping):
        return {normalise_data(k): normalise_data(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [normalise_data(v) for v in data]
    return data


def data_problems(data: Any, path: str = "", *, multiline: bool = True) -> list[tuple[str, str]]:
    """Every refused string in ``data``, as (path, message): ``body[2]``, ``sender.name``."""
    if isinstance(data, str):
        problem = text_problem(data, multiline=multiline)
        return [(path, problem)] if problem else []
    if isinstance(data, Mapping):
        return [p for k, v in data.items() for p in data_problems(v, f"{path}.{k}" if path else str(k),
                                                                  multiline=multiline)]
    if isinstance(data, list | tuple):
        return [p for i, v in enumerate(data) for p in data_problems(v, f"{path}[{i}]", multiline=multiline)]
    return []
