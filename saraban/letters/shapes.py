"""Render many letters fast: docxtpl once per *shape* of letter, then text substitution.

A national circular makes ~950 distinct letters (one per province and district forwarding it) that
differ only in their texts. docxtpl costs ~50 ms a letter; here each shape (type of letter, which parts
are present, how many paragraphs, which QR images) is rendered once with a token in place of every
text, and each letter then fills the tokens with its own escaped text, exactly as docxtpl would have
written it (tests compare the bytes with ``render_docx_bytes``).
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from saraban.kernel.settings import Settings
from saraban.letters.blocks import qr_links
from saraban.letters.render import (
    TRACKING_CAPTION,
    Properties,
    docx_zip,
    letter_text,
    render_docx_bytes,
    render_members,
)
from saraban.letters.spec import LetterSpec
from thai_text import apply_digits

_TOKEN = re.compile("⟦([a-z_]+)((?:\\.[a-z0-9_]+)*)⟧")
_SENTINEL_TIME = datetime(1999, 1, 1, tzinfo=UTC)
_SENTINEL_W3C = "1999-01-01T00:00:00Z"
# What docxtpl turns a newline in a value into.
_BREAK = '</w:t><w:br/><w:t xml:space="preserve">'
# Values docxtpl itself would rewrite (tabs, its own escapes): those letters take the slow path.
_SPECIAL = ("\t", "\a", "\f", "{_{", "}_}", "{_%", "%_}")


# In a body block, what the template branches on: part of the shape, never a token.
_STRUCTURE = ("kind",)


def _tokens(value: Any, path: str) -> Any:
    """``value`` with each non-empty text replaced by the token of its path (``⟦body.3.text⟧``); numbers
    (a table's column widths) and the blocks' kinds stay, as they shape the letter."""
    if isinstance(value, str):
        return f"⟦{path}⟧" if value else ""
    if isinstance(value, list):
        return [_tokens(v, f"{path}.{i}") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: v if k in _STRUCTURE else _tokens(v, f"{path}.{k}") for k, v in value.items()}
    return value


def _skeleton(value: Any) -> Any:
    """What of ``value`` the shape depends on: which texts are there, the lists' lengths, the kinds, numbers."""
    if isinstance(value, str):
        return bool(value)
    if isinstance(value, list):
        return tuple(_skeleton(v) for v in value)
    if isinstance(value, dict):
        return tuple((k, v if k in _STRUCTURE else _skeleton(v)) for k, v in sorted(value.items()))
    return value


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return [text for v in items for text in _texts(v)]


def _shape_key(kind: str, text: dict[str, Any], qr_urls: tuple[str, ...], tracking_png: bytes | None) -> tuple:
    parts = tuple((k, _skeleton(v)) for k, v in sorted(text.items()))
    tracking = hashlib.sha1(tracking_png).hexdigest() if tracking_png is not None else None
    return kind, parts, qr_urls, tracking


class _Shape:
    """The members of one rendered shape; the text parts keep their tokens."""

    def __init__(self, members: dict[str, bytes]) -> None:
        self.members = members
        self.templated = {name: data.decode("utf-8") for name, data in members.items()
                          if name.endswith(".xml") and ("⟦".encode() in data or name == "docProps/core.xml")}

    def fill(self, text: dict[str, Any], props: Properties) -> bytes:
        core_values = {"p_title": props.title, "p_subject": props.subject, "p_author": props.author,
                       "p_hash": props.spec_hash}
        members = dict(self.members)
        for name, xml in self.templated.items():
            if name == "docProps/core.xml":
                filled = _TOKEN.sub(lambda m: xml_escape(core_values[m.group(1)]), xml)
                filled = filled.replace(_SENTINEL_W3C, props.created.strftime("%Y-%m-%dT%H:%M:%SZ"))
            else:
                filled = _TOKEN.sub(lambda m: _document_text(text, m), xml)
            members[name] = filled.encode("utf-8")
        return docx_zip(members)


def _document_text(values: dict[str, Any], match: re.Match[str]) -> str:
    value: Any = values[match.group(1)]
    for part in match.group(2).split(".")[1:]:
        value = value[int(part)] if isinstance(value, list) else value[part]
    # What docxtpl's output becomes once lxml has parsed and written it again: &, < and > escaped.
    return xml_escape(value).replace("\n", _BREAK)


class LetterRenderer:
    """``render(spec)`` gives the same bytes as ``render_docx_bytes(spec)``, in a few ms per letter."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._shapes: dict[tuple, _Shape] = {}

    def render(self, spec: LetterSpec, *, tracking_png: bytes | None = None) -> bytes:
        text = letter_text(spec)
        text["tracking_caption"] = apply_digits(TRACKING_CAPTION, spec.digits)
        if any(mark in v for v in _texts(text) for mark in _SPECIAL):
            return render_docx_bytes(spec, self.settings, tracking_png=tracking_png)
        qr_urls = tuple(qr_links(spec))
        key = _shape_key(spec.kind, text, qr_urls, tracking_png)
        shape = self._shapes.get(key)
        if shape is None:
            tokens = Properties("⟦p_title⟧", "⟦p_subject⟧", "⟦p_author⟧", "⟦p_hash⟧", spec.kind, _SENTINEL_TIME)
            tokenised = {k: _tokens(v, k) for k, v in text.items()}
            shape = self._shapes[key] = _Shape(render_members(spec.kind, tokenised, tokens, qr_urls, self.settings,
                                                              tracking_png))
        return shape.fill(text, Properties.of(spec, text))


@lru_cache(maxsize=8)
def renderer_for(settings: Settings) -> LetterRenderer:
    """One renderer (and its compiled shapes) per process and settings."""
    return LetterRenderer(settings)
