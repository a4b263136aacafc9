"""The sentences saraban writes on an office's behalf, as editable Jinja2 text templates.

They live in ``templates/wording/`` (``<name>.txt.j2``, in folders by use: ``forward/``, ``programmes/``,
``reminders/``, ``email/``); an office overrides one by putting its own copy at the same place under
``wording/`` in its templates folder (``SARABAN_TEMPLATES_DIR``), as with the .docx templates.

A template gives one or more paragraphs separated by a blank line; the lines of one paragraph are joined
with a single space, so a long Thai sentence can be wrapped in the file where it has a space. Where a text
has a title (a letter's เรื่อง, an e-mail's subject), the first paragraph is that title and the others
are the body (:func:`wording_parts`). Values are values: ``{{ x }}`` prints what x holds as typed (no HTML
escaping), and text inside x is never read as a template. A variable the template names but is not given,
or a broken template, is a :class:`WordingError` naming the file.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, TemplateError, TemplateNotFound

from saraban.kernel.settings import TEMPLATES_DIR, Settings

_BLANK_LINE = re.compile(r"\n[ \t]*\n")
FOLDER = "wording"


class WordingError(ValueError):
    """A wording template that is missing or cannot be rendered; the message names the file."""


@lru_cache(maxsize=8)
def _environment(own: Path) -> Environment:
    folders = list(dict.fromkeys([str(own / FOLDER), str(TEMPLATES_DIR / FOLDER)]))  # the office's first
    # cache_size=0: Jinja's cache would keep saraban's template after an office puts its own copy in place
    # while the web face or the reminders run (it only checks the file it loaded); _compiled caches instead.
    return Environment(loader=FileSystemLoader(folders), undefined=StrictUndefined, trim_blocks=True,
                       lstrip_blocks=True, keep_trailing_newline=False, autoescape=False, cache_size=0)


def wording_file(settings: Settings, name: str) -> Path:
    """The file ``name`` is read from: the office's copy when it has one, else saraban's."""
    own = settings.templates_dir / FOLDER / f"{name}.txt.j2"
    return own if own.is_file() else TEMPLATES_DIR / FOLDER / f"{name}.txt.j2"


# Compiled templates by (templates folder, name, the file read, its mtime and size): a national circular's
# ~950 forwarding letters use two templates (compiling one takes ~3 ms), and an office's copy put in
# place, or edited, while the server runs is another key, so it is read at its next use.
_compiled: dict[tuple[Path, str, Path, int, int], Template] = {}
MAX_COMPILED = 64


def _template(settings: Settings, name: str) -> Template:
    file = wording_file(settings, name)
    try:
        stat = file.stat()
    except OSError:  # not there (the loader says so by name) or unreadable: no cache
        return _environment(settings.templates_dir).get_template(f"{name}.txt.j2")
    key = (settings.templates_dir, name, file, stat.st_mtime_ns, stat.st_size)
    template = _compiled.get(key)
    if template is None:
        template = _environment(settings.templates_dir).get_template(f"{name}.txt.j2")
        if len(_compiled) >= MAX_COMPILED:
            _compiled.pop(next(iter(_compiled), None), None)  # tolerant: threads share it
        _compiled[key] = template
    return template


def _render(settings: Settings, name: str, context: dict[str, Any]) -> str:
    file = f"{name}.txt.j2"
    try:
        return _template(settings, name).render(**context)
    except TemplateNotFound:
        raise WordingError(f"ไม่พบแม่แบบข้อความ {file} / wording template {file} not found in "
                           f"{settings.templates_dir / FOLDER} nor {TEMPLATES_DIR / FOLDER}") from None
    except TemplateError as e:
        line = getattr(e, "lineno", None)
        where = f"{wording_file(settings, name)}" + (f", line {line}" if line else "")
        raise WordingError(f"แม่แบบข้อความใช้ไม่ได้ / wording template {where}: {e}") from None


def wording_paragraphs(settings: Settings, name: str, **context: Any) -> list[str]:
    """The paragraphs of ``templates/wording/<name>.txt.j2`` filled in with ``context``."""
    text = _render(settings, name, context)
    paragraphs = (" ".join(line.strip() for line in block.splitlines() if line.strip())
                  for block in _BLANK_LINE.split(text.replace("\r\n", "\n")))
    return [p for p in paragraphs if p]


def wording(settings: Settings, name: str, **context: Any) -> str:
    """The wording template ``name`` as one text: its paragraphs joined by a newline."""
    return "\n".join(wording_paragraphs(settings, name, **context))


def wording_parts(settings: Settings, name: str, **context: Any) -> tuple[str, list[str]]:
    """(title, body paragraphs): the template's first paragraph and the rest (a letter's เรื่อง and text, an
    e-mail's subject and body). A template that gives no title is a WordingError."""
    paragraphs = wording_paragraphs(settings, name, **context)
    if not paragraphs:
        raise WordingError(f"แม่แบบข้อความไม่มีข้อความ / wording template {wording_file(settings, name)} gave no "
                           "text: its first paragraph is the title (เรื่อง / the e-mail's subject)")
    return paragraphs[0], paragraphs[1:]


def mail_wording(settings: Settings, name: str, **context: Any) -> tuple[str, str]:
    """(subject, body) of an e-mail template: the first paragraph and the others, a blank line between."""
    subject, body = wording_parts(settings, name, **context)
    return subject, "\n\n".join(body) + "\n"
