"""Render many letters (and their attached pages) fast: docxtpl once per *shape*, then text substitution.

A national circular makes ~950 distinct letters (one per province and district forwarding it) that
differ only in their texts. docxtpl costs ~50 ms a letter; here each shape (type of letter, which parts
are present, how many paragraphs, which QR images) is rendered once with a token in place of every
text, and each letter then fills the tokens with its own escaped text, exactly as docxtpl would have
written it (tests compare the bytes with ``render_docx_bytes``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from saraban.kernel.settings import Settings, template_file
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
from saraban.letters.zip_splice import ZipSplice
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


# The index a table's one row is rendered with, in the tokens of its texts (``⟦list.rows._.name⟧``).
_ROW = "_"


def _one_row(value: Any, key: str, rows: frozenset[str]) -> bool:
    """Whether ``value`` (under ``key``) is a list of table rows all of one skeleton: its shape is rendered
    with one row, which each document repeats for its own rows."""
    return (key in rows and isinstance(value, list) and bool(value)
            and len({_skeleton(v, rows) for v in value}) == 1)


def _tokens(value: Any, path: str, rows: frozenset[str] = frozenset()) -> Any:
    """``value`` with each non-empty text replaced by the token of its path (``⟦body.3.text⟧``); numbers
    (a table's column widths) and the blocks' kinds stay, as they shape the letter."""
    if isinstance(value, str):
        return f"⟦{path}⟧" if value else ""
    if isinstance(value, list):
        return [_tokens(v, f"{path}.{i}", rows) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: v if k in _STRUCTURE else
                [_tokens(v[0], f"{path}.{k}.{_ROW}", rows)] if _one_row(v, k, rows) else
                _tokens(v, f"{path}.{k}", rows) for k, v in value.items()}
    return value


def _skeleton(value: Any, rows: frozenset[str] = frozenset()) -> Any:
    """What of ``value`` the shape depends on: which texts are there, the lists' lengths (not a table's
    rows: ``rows``), the kinds, numbers."""
    if isinstance(value, str):
        return bool(value)
    if isinstance(value, list):
        return tuple(_skeleton(v, rows) for v in value)
    if isinstance(value, dict):
        return tuple((k, v if k in _STRUCTURE else ("rows", _skeleton(v[0], rows)) if _one_row(v, k, rows)
                      else _skeleton(v, rows)) for k, v in sorted(value.items()))
    return value


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return [text for v in items for text in _texts(v)]


CORE = "docProps/core.xml"
# Shapes kept per renderer: a national circular's forwarding letters take a handful of letter shapes and
# of attached pages (one for every length of recipients list); the oldest is dropped beyond this.
MAX_SHAPES = 256


def file_stamp(path: Path) -> tuple[str, int, int]:
    """What says a template (or the emblem) changed: a shape made from the old file is not used again."""
    stat = path.stat()
    return str(path), stat.st_mtime_ns, stat.st_size


class NotRepeatable(ValueError):
    """A list of rows whose texts are not each inside one table row of the template (an office's template
    that prints them as paragraphs): its documents are rendered with all their rows instead."""


_ROW_TOKEN = re.compile(f"⟦([a-z_]+(?:\\.[a-z0-9_]+)*)\\.{_ROW}\\.")
_TABLE_ROW = re.compile(r"<w:tr[ >]")
_ROW_MARK = re.compile("⟪([0-9]+)⟫")


class _Shape:
    """One rendered shape: its archive, and the XML members that hold tokens (core.xml always). A table row
    holding a row's tokens is cut out (``⟪n⟫`` in its place) and repeated by :meth:`fill` for each row."""

    def __init__(self, members: dict[str, bytes]) -> None:
        self.zip = ZipSplice(docx_zip(members))
        self.rows: list[tuple[str, str]] = []  # (the list's path, the XML of its one row)
        self.templated = {name: self._cut_rows(data.decode("utf-8")) for name, data in members.items()
                          if name.endswith(".xml") and ("⟦".encode() in data or name == CORE)}

    def _cut_rows(self, xml: str) -> str:
        while match := _ROW_TOKEN.search(xml):
            starts = [m.start() for m in _TABLE_ROW.finditer(xml, 0, match.start())]
            end = xml.find("</w:tr>", match.end())
            if not starts or end < 0 or _TABLE_ROW.search(xml, starts[-1] + 1, end):
                raise NotRepeatable(f"{match.group(1)}: the row's texts are not in one table row")
            start, end = starts[-1], end + len("</w:tr>")
            row = xml[start:end]
            if {m.group(1) for m in _ROW_TOKEN.finditer(row)} != {match.group(1)}:
                raise NotRepeatable(f"{match.group(1)}: another list's texts share its table row")
            self.rows.append((match.group(1), row))
            xml = f"{xml[:start]}⟪{len(self.rows) - 1}⟫{xml[end:]}"
        return xml

    def fill(self, values: dict[str, Any], core: dict[str, str], created: datetime) -> bytes:
        """The archive with every token replaced by its value, escaped as docxtpl writes it, a table row for
        each of a list's rows; only the members that hold tokens are compressed again."""
        replaced = {}
        for name, xml in self.templated.items():
            if name == CORE:  # the date first: a value that reads like the sentinel stays as typed
                filled = xml.replace(_SENTINEL_W3C, created.strftime("%Y-%m-%dT%H:%M:%SZ"))
                filled = _TOKEN.sub(lambda m: xml_escape(core[m.group(1)]), filled)
            else:
                filled = _ROW_MARK.sub(lambda m: self._repeated(values, int(m.group(1))), xml)
                filled = _TOKEN.sub(lambda m: _document_text(values, m), filled)
            replaced[name] = filled.encode("utf-8")
        return self.zip.with_members(replaced)

    def _repeated(self, values: dict[str, Any], n: int) -> str:
        path, row = self.rows[n]
        one = f"⟦{path}.{_ROW}."
        return "".join(row.replace(one, f"⟦{path}.{i}.") for i in range(len(_value_at(values, path))))


def _value_at(values: dict[str, Any], path: str) -> Any:
    first, *rest = path.split(".")
    value: Any = values[first]
    for part in rest:
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def _document_text(values: dict[str, Any], match: re.Match[str]) -> str:
    value = _value_at(values, match.group(1) + match.group(2))
    # What docxtpl's output becomes once lxml has parsed and written it again: &, < and > escaped.
    return xml_escape(value).replace("\n", _BREAK)


# Renders a shape: (the values with a token for each text, the core properties as tokens, the sentinel
# time) → the .docx members, through docxtpl.
RenderShape = Callable[[dict[str, Any], dict[str, str], datetime], dict[str, bytes]]


class Shapes:
    """Documents of one template rendered by docxtpl once per shape, then filled by text substitution."""

    def __init__(self, limit: int = MAX_SHAPES, *, table_rows: tuple[str, ...] = ()) -> None:
        """``table_rows``: the names of the lists whose items each fill a row of a table (a recipients list):
        one shape serves every number of rows."""
        self.limit = limit
        self.table_rows = frozenset(table_rows)
        self._not_repeatable: set[tuple] = set()  # the stamps (templates) whose rows are not table rows
        self._shapes: dict[tuple, _Shape] = {}

    def render(self, stamp: tuple, values: dict[str, Any], core: dict[str, str], created: datetime,
               render: RenderShape) -> bytes | None:
        """The document of ``values`` (and ``core``: the core properties by token name); None when a value
        holds what docxtpl itself rewrites (the caller renders it with docxtpl). ``stamp``: what else the
        shape depends on (the template file, the images)."""
        if any(mark in v for v in _texts(values) for mark in _SPECIAL):
            return None
        rows = frozenset() if stamp in self._not_repeatable else self.table_rows
        key = (stamp, rows, tuple((k, _skeleton(v, rows)) for k, v in sorted(values.items())))
        shape = self._shapes.pop(key, None)  # popped and put back: the most recently used last
        if shape is None:
            tokenised = {k: _tokens(v, k, rows) for k, v in values.items()}
            try:
                shape = _Shape(render(tokenised, {k: f"⟦{k}⟧" for k in core}, _SENTINEL_TIME))
            except NotRepeatable:
                self._not_repeatable.add(stamp)
                return self.render(stamp, values, core, created, render)
            while len(self._shapes) >= self.limit:
                self._shapes.pop(next(iter(self._shapes), None), None)  # tolerant: threads share it
        self._shapes[key] = shape
        return shape.fill(values, core, created)


class LetterRenderer:
    """``render(spec)`` gives the same bytes as ``render_docx_bytes(spec)``, in a few ms per letter."""

    RECENT = 8  # letters kept as rendered: make_files renders a letter's master for itself, then for its copies

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._shapes = Shapes()
        self._recent: dict[tuple, bytes] = {}

    def render(self, spec: LetterSpec, *, tracking_png: bytes | None = None) -> bytes:
        settings = self.settings
        files = (file_stamp(template_file(settings, f"letters/{spec.kind}.docx")), file_stamp(settings.emblem),
                 hashlib.sha1(tracking_png).hexdigest() if tracking_png is not None else None)
        recent = (spec.hash(), files)
        if (done := self._recent.get(recent)) is not None:
            return done
        done = self._render(spec, tracking_png, files)
        if len(self._recent) >= self.RECENT:
            self._recent.pop(next(iter(self._recent), None), None)
        self._recent[recent] = done
        return done

    def _render(self, spec: LetterSpec, tracking_png: bytes | None, files: tuple) -> bytes:
        settings = self.settings
        text = letter_text(spec)
        text["tracking_caption"] = apply_digits(TRACKING_CAPTION, spec.digits)
        qr_urls = tuple(qr_links(spec))
        props = Properties.of(spec, text)
        stamp = (spec.kind, files, qr_urls)

        def render(tokens: dict[str, Any], core: dict[str, str], created: datetime) -> dict[str, bytes]:
            shape_props = Properties(core["p_title"], core["p_subject"], core["p_author"], core["p_hash"],
                                     spec.kind, created)
            return render_members(spec.kind, tokens, shape_props, qr_urls, settings, tracking_png)

        core = {"p_title": props.title, "p_subject": props.subject, "p_author": props.author,
                "p_hash": props.spec_hash}
        filled = self._shapes.render(stamp, text, core, props.created, render)
        return filled if filled is not None else render_docx_bytes(spec, settings, tracking_png=tracking_png)


@lru_cache(maxsize=8)
def renderer_for(settings: Settings) -> LetterRenderer:
    """One renderer (and its compiled shapes) per process and settings."""
    return LetterRenderer(settings)
