"""Where a printed Thai line may break: marks for a typesetter that breaks anywhere its dictionary says.

Thai has no spaces between words, so a typesetter finds line-break opportunities with a dictionary of
its own (LibreOffice: ICU's), which splits words a Thai reader will not split (``ราย|ละเอียด``,
``มอบ|หมาย``). :func:`mark_breaks` decides instead, with pythainlp's word segmentation:

- between two words: ZERO WIDTH SPACE (a break opportunity), after a WORD JOINER;
- inside a word, before each consonant or leading vowel: WORD JOINER (no break);
- units a clerk reads as one never break: a reference number (``ทส ๐๙๐๓/ว ๑๒``), a date
  (``๒๖ มีนาคม ๒๕๖๗``), ``พ.ศ. ๒๕๖๗``, a title and a name (``นาย สมชาย``), a group of digits
  (``๐ ๗๕๖๑ ๑๒๓๔``, ``๐๘.๓๐ น.``) and a bracket with its first and last word.

The marks are invisible and take no room. The WORD JOINER before every word boundary also keeps
LibreOffice 7.4's Thai justification from pulling a line's last tone mark off its consonant (it adds
space after the line's last character as well, and a joiner there takes it instead of the mark).
"""

from __future__ import annotations

import re
from functools import lru_cache

from thai_text.dates import THAI_MONTHS, THAI_MONTHS_ABBR

WJ = "\u2060"  # WORD JOINER: no break here
ZWSP = "\u200b"  # ZERO WIDTH SPACE: a break may go here
NBSP = "\u00a0"
INVISIBLE = (WJ, ZWSP)

_D = "[0-9๐-๙]"
_MONTH = "|".join(re.escape(m) for m in sorted((*THAI_MONTHS, *THAI_MONTHS_ABBR), key=len, reverse=True))
_GLUED_SPACES = [
    # ที่ กบ ๐๐๒๓.๖/ว ๑๗๗๕ (the word ที่ with it when it stands before the code)
    re.compile(rf"(?:ที่ +)?[ก-ฮ][ก-ฮ.]{{0,6}} +{_D}+(?:\.{_D}+)*/(?:ว *)?{_D}+"),
    re.compile(rf"{_D}{{1,2}} +(?:{_MONTH}) +(?:พ\.ศ\. *)?{_D}{{4}}"),  # ๒๖ มีนาคม ๒๕๖๗
    re.compile(rf"(?:(?<=[^ก-๛])|^)(?:{_MONTH}) +(?:พ\.ศ\. *)?{_D}{{4}}"),  # เดือนมีนาคม ๒๕๖๗ stays whole
    re.compile(rf"(?:พ\.ศ\.|ค\.ศ\.|ปี) +{_D}{{4}}"),
    re.compile(rf"{_D}+(?:[.:,]{_D}+)*(?: +{_D}+(?:[.:,]{_D}+)*)+"),  # ๐ ๗๕๖๑ ๑๒๓๔, 912 345 6789
    re.compile(rf"{_D}+(?:[.:]{_D}+)? +(?:น\.|บาท|คน|ราย|แห่ง|วัน|ครั้ง)"),  # ๐๘.๓๐ น., ๕๐๐ บาท
    re.compile(rf"(?:โทร\.|โทรศัพท์|โทรสาร|มือถือ|ต่อ) +{_D}"),  # a phone's label and its number: ต่อ ๒๑๑๐
]
# A title and the name after it: one unit, the name never split (it is in no dictionary).
_TITLED_NAME = re.compile(r"(นางสาว|นาง|นาย|ดร\.|ผศ\.|รศ\.|ศ\.|ว่าที่ร้อยตรี) +([ก-๛]+)")
_SPACED_BRACKET = re.compile(r"(?<=\S) +\((?=\S)")
_THAI_RUN = re.compile("[\u0e01-\u0e3a\u0e40-\u0e4e]+")
_WORD_START = re.compile("(?<=.)(?=[\u0e01-\u0e2e\u0e40-\u0e44])")  # a consonant or a leading vowel


def _glue(match: re.Match[str]) -> str:
    return match.group().replace(" ", NBSP)


@lru_cache(maxsize=4096)
def _marked_run(run: str) -> str:
    from pythainlp.tokenize import word_tokenize  # loads its dictionary: only when text is marked

    words = word_tokenize(run, engine="newmm", keep_whitespace=True)
    return (WJ + ZWSP).join(_WORD_START.sub(WJ, w) for w in words if w)


@lru_cache(maxsize=4096)
def mark_breaks(text: str) -> str:
    """``text`` with the invisible marks that say where a printed line may break and where not.

    >>> strip_marks(mark_breaks("ที่ ทส ๐๙๐๓/ว ๑๒")) == "ที่ ทส ๐๙๐๓/ว ๑๒"
    True
    >>> "\\u200b" in mark_breaks("รายละเอียด")
    False
    """
    if not text:
        return text
    for pattern in _GLUED_SPACES:
        text = pattern.sub(_glue, text)
    text = _TITLED_NAME.sub(lambda m: m[1] + NBSP + _WORD_START.sub(WJ, m[2]), text)
    # A bracket holds on to its first and last word, and (LibreOffice breaks after a "(" that follows a
    # space whatever mark is put after it) to the word before it.
    text = _SPACED_BRACKET.sub(NBSP + "(", text).replace("(", "(" + WJ).replace(")", WJ + ")")
    return _THAI_RUN.sub(lambda m: _marked_run(m.group()), text)


def strip_marks(text: str) -> str:
    """The text without the marks of :func:`mark_breaks` (its glued spaces are spaces again)."""
    return text.replace(WJ, "").replace(ZWSP, "").replace(NBSP, " ")


# Thai vowels and tone marks above and below a consonant: PDF text extraction may put them after the
# next consonant ("รบั" for "รับ"), so lines are compared by the other characters.
_COMBINING = re.compile("[\u0e31\u0e34-\u0e3a\u0e47-\u0e4e]")
_SPACE = re.compile(r"\s+")


def base_chars(text: str) -> str:
    """The text without marks, white space and the vowels and tone marks above and below: what a line
    read back from a PDF and the paragraph it came from are compared by."""
    return _COMBINING.sub("", _SPACE.sub("", strip_marks(text)))


def word_boundaries(text: str) -> set[int]:
    """The offsets in :func:`base_chars` of ``text`` where pythainlp's segmentation puts a word boundary
    (so they can be compared with lines read back from a PDF)."""
    from pythainlp.tokenize import word_tokenize

    bounds = {0}
    at = 0
    for word in word_tokenize(strip_marks(text), engine="newmm", keep_whitespace=False):
        at += len(base_chars(word))
        bounds.add(at)
    return bounds
