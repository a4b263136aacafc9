"""Thai fonts for PDF rendering.

Letters name the office's font (TH SarabunIT๙ by default). Where that font is not installed,
LibreOffice falls back to Laksaman, drawn at full size: the TH Sarabun fonts draw their glyphs at 0.66
of the size that Laksaman and Google's Sarabun use for the same point size (Debian's
89-tlwg-laksaman-synthetic.conf scales Laksaman by 0.66 for that reason; LibreOffice ignores that
scaling), so a 16 pt letter spills onto a second page.

So saraban derives "Saraban TH" from Google's Sarabun (OFL, ``fontpkg-sarabun``): the same outlines on
an em 1/0.66 larger, i.e. the size of TH Sarabun at the same point size, and line height from
Sarabun's Windows metrics. The PDF converter runs with a fontconfig file of saraban's own that adds
it and makes the TH Sarabun family names resolve to it. Nothing outside the data folder is touched.
"""

from __future__ import annotations

import os
import threading
from importlib.resources import files
from pathlib import Path
from xml.sax.saxutils import escape

from fontTools.ttLib import TTFont

# Font names offices put in their letters that Sarabun stands in for.
SARABUN_ALIASES = ("TH SarabunIT๙", "TH SarabunIT9", "TH SarabunPSK", "TH Sarabun New", "TH Sarabun")
PDF_FONT_FAMILY = "Saraban TH"
TH_SARABUN_SCALE = 0.66
STYLES = ("Regular", "Bold", "Italic", "BoldItalic")


def sarabun_file(style: str) -> Path:
    return Path(str(files("fontpkg_sarabun") / "files" / f"Sarabun-{style}.ttf"))


def derive_th_face(source: Path, target: Path, style: str) -> None:
    """Write Sarabun-<style> rescaled to TH Sarabun's size, renamed 'Saraban TH' (OFL: a modified
    font takes a new name)."""
    font = TTFont(source, recalcTimestamp=False)  # the same bytes on every machine
    upem = font["head"].unitsPerEm
    font["head"].unitsPerEm = round(upem / TH_SARABUN_SCALE)
    os2, hhea = font["OS/2"], font["hhea"]
    hhea.ascent, hhea.descent, hhea.lineGap = os2.usWinAscent, -os2.usWinDescent, 0
    os2.sTypoAscender, os2.sTypoDescender, os2.sTypoLineGap = os2.usWinAscent, -os2.usWinDescent, 0
    subfamily = {"Regular": "Regular", "Bold": "Bold", "Italic": "Italic", "BoldItalic": "Bold Italic"}[style]
    names = font["name"]
    for record in list(names.names):
        if record.nameID in (1, 3, 4, 6, 16, 17):
            names.removeNames(nameID=record.nameID)
    names.setName(PDF_FONT_FAMILY, 1, 3, 1, 0x409)
    names.setName(subfamily, 2, 3, 1, 0x409)
    names.setName(f"{PDF_FONT_FAMILY} {subfamily}; derived from Sarabun by saraban", 3, 3, 1, 0x409)
    names.setName(f"{PDF_FONT_FAMILY} {subfamily}", 4, 3, 1, 0x409)
    names.setName(f"SarabanTH-{style}", 6, 3, 1, 0x409)
    font.save(target)


def fontconfig_file(fonts_dir: Path, font_name: str) -> Path:
    """Write (once) ``fonts_dir/fonts.conf`` with Sarabun and the aliases; return its path.

    Pass it to LibreOffice as ``FONTCONFIG_FILE``.
    """
    fonts_dir.mkdir(parents=True, exist_ok=True)
    for style in STYLES:
        target = fonts_dir / f"SarabanTH-{style}.ttf"
        if not target.exists():  # written whole, then renamed: another process may be reading it meanwhile
            partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}")
            derive_th_face(sarabun_file(style), partial, style)
            os.replace(partial, target)
    aliases = dict.fromkeys((font_name, *SARABUN_ALIASES))
    alias_xml = "\n".join(
        f"  <alias binding=\"same\"><family>{escape(name)}</family>"
        f"<prefer><family>{PDF_FONT_FAMILY}</family></prefer></alias>"
        for name in aliases
    )
    conf = f"""<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <dir>{escape(str(fonts_dir))}</dir>
  <cachedir>{escape(str(fonts_dir / "cache"))}</cachedir>
{alias_xml}
</fontconfig>
"""
    path = fonts_dir / "fonts.conf"
    if not path.exists() or path.read_text(encoding="utf-8") != conf:
        partial = path.with_name(f".fonts.conf.{os.getpid()}.{threading.get_ident()}")
        partial.write_text(conf, encoding="utf-8")
        os.replace(partial, path)
    return path
