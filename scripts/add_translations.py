"""Add messages to the plugin's zh_CN translation file: ``python3 scripts/add_translations.py SOURCE=TRANSLATION ...``.

A small helper for the .ts file Qt Linguist reads (``lrelease`` compiles it); existing messages are kept.
"""

import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import escape

TS = Path(__file__).resolve().parents[1] / "qgis_plugin" / "i18n" / "county_landuse_monitor_zh_CN.ts"


def main(pairs):
    text = TS.read_text(encoding="utf-8")
    known = {m.findtext("source") for m in ET.fromstring(text).iter("message")}
    added = ""
    for pair in pairs:
        source, _, translation = pair.partition("=")
        if source and translation and source not in known:
            added += (f"    <message>\n        <source>{escape(source)}</source>\n"
                      f"        <translation>{escape(translation)}</translation>\n    </message>\n")
    at = text.rindex("</context>")
    TS.write_text(text[:at] + added + text[at:], encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
