#!/usr/bin/env python3
"""Build the installable QGIS plugin zip: ``python3 scripts/package_plugin.py [--out dist]``.

The zip holds one folder, ``county_landuse_monitor/``: the ``qgis_plugin``
package with ``metadata.txt`` and ``LICENSE`` at its root, the icon compiled
from ``resources.qrc`` (pyrcc5, imports rewritten to ``qgis.PyQt``) and the
translations compiled from ``i18n/*.ts`` (lrelease), and nothing else: no
caches, compiled Python, tests or binaries. The checks plugins.qgis.org makes
on upload that can be made offline are made here too.
"""

import argparse
import configparser
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NAME = "county_landuse_monitor"
REQUIRED = ("name", "qgisMinimumVersion", "description", "about", "version", "author", "email", "repository")
FORBIDDEN = re.compile(r"(__pycache__|\.pyc$|\.pyo$|\.so$|\.dll$|\.exe$|\.DS_Store$|(^|/)\.)")


def build(out_dir: Path) -> Path:
    meta = configparser.ConfigParser()
    meta.read(REPO / "metadata.txt", encoding="utf-8")
    general = meta["general"]
    missing = [k for k in REQUIRED if not general.get(k)]
    if missing:
        raise SystemExit(f"metadata.txt lacks {', '.join(missing)}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / NAME
        shutil.copytree(REPO / "qgis_plugin", root, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.qm"))
        shutil.copy(REPO / "metadata.txt", root / "metadata.txt")
        shutil.copy(REPO / "LICENSE", root / "LICENSE")
        resources = root / "resources_rc.py"
        subprocess.run(["pyrcc5", "-o", str(resources), str(REPO / "resources.qrc")], check=True, cwd=REPO)
        resources.write_text(resources.read_text().replace("from PyQt5 import QtCore", "from qgis.PyQt import QtCore"))
        for ts in sorted((root / "i18n").glob("*.ts")):
            subprocess.run(["lrelease", "-silent", str(ts), "-qm", str(ts.with_suffix(".qm"))], check=True)
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / f"{NAME}-{general['version']}.zip"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(root.parent).as_posix())
    check(target)
    return target


def check(zip_path: Path) -> None:
    """The offline part of plugins.qgis.org's upload checks."""
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
    tops = {n.split("/", 1)[0] for n in names}
    problems = []
    if tops != {NAME}:
        problems.append(f"the zip must hold one folder {NAME}/, found {sorted(tops)}")
    for required in ("metadata.txt", "LICENSE", "__init__.py", "resources_rc.py"):
        if f"{NAME}/{required}" not in names:
            problems.append(f"{required} missing at the plugin's root")
    problems += [f"not allowed in a plugin zip: {n}" for n in names if FORBIDDEN.search(n.split("/", 1)[-1])]
    if problems:
        raise SystemExit("\n".join(problems))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "dist")
    target = build(parser.parse_args().out)
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
