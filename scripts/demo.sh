#!/usr/bin/env bash
# Set up the engine environment and run the main job on the bundled Landsat samples:
# inspect the 2001 and 2013 scenes, render them in true and false colour into demo-output/,
# ask the demo question (answered from the measurements unless a model is configured), and write
# the report files of the pair into demo-output/report/
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
out=demo-output
mkdir -p "$out"
for scene in tests/data/landsat/LE07_L1TP_195025_20010730_20170204_01_T1 \
             tests/data/landsat/LC08_L1TP_195025_20130707_20170503_01_T1; do
  name=$(basename "$scene" | cut -d_ -f1,4)
  echo "== inspect $scene"
  .venv/bin/python -m engine inspect "$scene"
  .venv/bin/python -m engine render "$scene" -o "$out/${name}_true.png" --quiet
  .venv/bin/python -m engine render "$scene" --false-color -o "$out/${name}_false.png" --quiet
done
echo "== images written to $out/"
echo "== ask --demo"
.venv/bin/python -m engine ask --demo --quiet
echo "== report: the bureau's files for the same pair (report.docx, patches.xlsx, patches.gpkg) in $out/report/"
.venv/bin/python -m engine report --layer tests/data/landsat/LE07_L1TP_195025_20010730_20170204_01_T1 \
  --layer tests/data/landsat/LC08_L1TP_195025_20130707_20170503_01_T1 --mmu-ha 0.18 --max-chips 2 \
  --out "$out/report" --quiet
echo "== next: the QGIS dock (scripts/setup.sh --qgis), or the browser page: run"
echo "   .venv/bin/python -m engine serve   and open http://127.0.0.1:8765/ui/"
