#!/usr/bin/env python3
"""Install the plugin into a QGIS profile, enable it and point it at this checkout's engine.

    /usr/bin/python3 scripts/install_plugin.py [--profile-root ~/.local/share/QGIS/QGIS3/profiles/default]
                                               [--engine-python .venv/bin/python]

Run with QGIS's Python (it writes QGIS's settings with Qt's own QSettings). It
builds the zip (``package_plugin.py``), replaces the plugin folder in the
profile with the zip's, enables the plugin in ``QGIS/QGIS3.ini``
(``[PythonPlugins]``) and records the engine's Python in the plugin's
settings, so opening QGIS gives a working plugin. ``scripts/setup.sh --qgis``
runs it for the default profile.
"""

import argparse
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

from package_plugin import NAME, build  # noqa: E402


def install(profile_root: Path, engine_python: Path) -> Path:
    from qgis.PyQt.QtCore import QSettings

    plugins = profile_root / "python" / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        archive = build(Path(tmp))
        staging = Path(tmp) / "unpacked"
        zipfile.ZipFile(archive).extractall(staging)
        target = plugins / NAME
        if target.exists():
            shutil.rmtree(target)
        shutil.move(str(staging / NAME), str(target))
    ini = profile_root / "QGIS" / "QGIS3.ini"
    ini.parent.mkdir(parents=True, exist_ok=True)
    settings = QSettings(str(ini), QSettings.Format.IniFormat)
    settings.setValue(f"PythonPlugins/{NAME}", True)
    settings.setValue(f"{NAME}/python", str(engine_python))
    settings.sync()
    if settings.status() != QSettings.Status.NoError:
        raise SystemExit(f"could not write {ini}")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile-root", type=Path,
                        default=Path.home() / ".local" / "share" / "QGIS" / "QGIS3" / "profiles" / "default")
    parser.add_argument("--engine-python", type=Path, default=REPO / ".venv" / "bin" / "python")
    args = parser.parse_args()
    target = install(args.profile_root.expanduser(), args.engine_python.expanduser().absolute())
    print(f"installed {target}; enabled; engine {args.engine_python}")


if __name__ == "__main__":
    main()
