"""Build a grounded question-answer dataset from a county's own layers.

    python -m training.build_dataset --layer 2023.tif --layer 2024.tif [--reference survey.gpkg] \
        [--zones zones.gpkg] --out data/county

The layers are classified once by the engine; every ``--tile-size`` tile with enough valid pixels
gets its facts measured, its images rendered by the engine's renderer (PNG, beside the JSON), and
questions whose answers come from those facts (``training.dataset.questions``). Tiles are split
by geography (``training.dataset.splits``) into ``train.json``, ``val.json`` and ``test.json`` in
the seed's LLaVA format, with the ``question``/``answer``/``question_type``/``facts`` columns GRPO's
rewards read. Yes/no answers are balanced per split and type, and ``stats.json`` gives each type's
answer distribution with its majority-answer baseline.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import logging
import random
import sys
from pathlib import Path

log = logging.getLogger("training.build_dataset")
YES_NO = {"是", "否", "yes", "no"}
MAX_SHARE = 0.25  # the most one answer may make of a question type with four answers or more


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m training.build_dataset", description=__doc__.split("\n")[0])
    p.add_argument("--layer", action="append", required=True, type=Path,
                   help="a layer (as for the engine's inspect); repeat for more dates")
    p.add_argument("--reference", type=Path, help="a land-use survey (三调 vector or WorldCover raster) as a date")
    p.add_argument("--reference-date", help="the reference's date, YYYY-MM-DD, when its metadata has none")
    p.add_argument("--zones", type=Path, help="protection zones (any OGR vector or GeoJSON): adds questions on new "
                                            "built-up land inside them")
    p.add_argument("--out", required=True, type=Path, help="output folder (JSON files, images/, stats.json)")
    p.add_argument("--tile-size", type=int, default=256, help="tile side in pixels (default 256, as RSVQA-LR)")
    p.add_argument("--min-valid", type=float, default=0.9,
                   help="least share of valid (not nodata/cloud/shadow) pixels on every date (default 0.9)")
    p.add_argument("--block", type=int, default=4, help="tiles per side of a split block (default 4)")
    p.add_argument("--val", type=float, default=0.1, help="share of blocks for validation (default 0.1)")
    p.add_argument("--test", type=float, default=0.1, help="share of blocks for test (default 0.1)")
    p.add_argument("--mmu-ha", type=float, default=0.5,
                   help="minimum mapping unit of change patches, ha (default 0.5, as the engine's analyse)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--debug", action="store_true", help="show the traceback of a failure instead of one line")
    return p


def build(layers: list[Path], out: Path, tile_size: int = 256, min_valid: float = 0.9, block: int = 4,
          val: float = 0.1, test: float = 0.1, seed: int = 0, reference: Path | None = None,
          reference_date: str | None = None, progress: bool = True, zones: Path | None = None,
          mmu_ha: float = 0.5) -> dict[str, object]:
    """Write the dataset into ``out``; returns the statistics written to ``stats.json``."""
    from tqdm import tqdm

    from engine.analysis.areas import M2_PER_HA, pixel_areas
    from engine.analysis.reference import ReferenceSpec
    from engine.analysis.run import AnalysisConfig, analyse
    from engine.analysis.zones import read_zones
    from engine.types import LayerSpec
    from training.dataset.questions import questions
    from training.dataset.splits import MIN_TILE_PX, SPLITS, check_shares, first_full, smaller_tiles
    from training.dataset.tiles import tile_facts

    if tile_size < 28:
        raise ValueError("--tile-size must be at least 28 pixels (one visual token)")
    check_shares(block, val, test)  # before the analysis
    asked = (tile_size, block)
    when = dt.date.fromisoformat(reference_date) if reference_date else None
    ref = ReferenceSpec(path=reference, date=when) if reference is not None else None
    config = AnalysisConfig(mmu_ha=mmu_ha)
    result = analyse([LayerSpec(path=p) for p in layers], config=config, reference=ref, keep_class_maps=True)
    dates = result.facts.dates
    window = result.class_maps[0].window
    areas = pixel_areas(result.grid, window)
    zone_set = read_zones(zones, result.grid) if zones is not None else None
    layers_of = [(d.date, d.layer, d.sensor) for d in result.facts.per_date]
    width, height = int(window.width), int(window.height)
    tried = []
    for size in smaller_tiles(tile_size):  # small extents: smaller blocks, then smaller tiles, never empty splits
        total = (height // size) * (width // size)
        if total == 0:
            tried.append(f"{size}-px tiles: none fits")
            continue
        tiles = list(tqdm(tile_facts(result.class_maps, layers_of, result.grid, window, areas, size, min_valid,
                                     config.mmu_ha * M2_PER_HA, zone_set),
                          total=total, desc=f"measuring {size}-px tiles", unit="tile", disable=not progress))
        layout = first_full([(t.row, t.col) for t in tiles], block, val, test, seed)
        if layout is not None:
            break
        tried.append(f"{size}-px tiles: {len(tiles)} usable")
    else:
        raise ValueError(
            f"the layers ({width}x{height} px) are too small for train, val and test splits that do not touch: "
            f"tried {'; '.join(tried)} (down to {MIN_TILE_PX}-px tiles in 1-tile blocks, the minimum). "
            f"Use larger layers, a smaller --min-valid, or --val 0 / --test 0")
    used_block, split_of = layout
    if (size, used_block) != (tile_size, block):
        log.warning("the layers (%dx%d px) are small: %d-px tiles in %d-tile blocks were used (asked: %d px, %d) "
                    "so that no split is empty", width, height, size, used_block, tile_size, block)
    tile_size = size
    images = out / "images"
    images.mkdir(parents=True, exist_ok=True)
    rows: dict[str, list[dict]] = {s: [] for s in SPLITS}
    products = result.products  # images come from the classified layers (a reference has none)
    for tile in tqdm(tiles, desc="rendering and asking", unit="tile", disable=not progress):
        split = split_of.get((tile.row, tile.col))
        if split is None:
            continue  # on a border between splits
        names = _render(tile, products, result.grid, window, images)
        rng = random.Random(seed * 1_000_003 + tile.row * 10_007 + tile.col)
        facts = json.dumps(tile.to_facts(), ensure_ascii=False)
        for k, qa in enumerate(questions(tile, rng)):
            shown = [names[0], names[-1]] if qa.both_dates and len(names) > 1 else [names[-1]]
            rows[split].append({
                "id": f"r{tile.row}c{tile.col}-{k}", "image": shown if len(shown) > 1 else shown[0],
                "conversations": [{"from": "human", "value": "<image>" * len(shown) + qa.question},
                                  {"from": "gpt", "value": qa.answer}],
                "question": qa.question, "answer": qa.answer, "question_type": qa.question_type,
                "language": qa.language, "facts": facts, "tile": [tile.row, tile.col]})
    stats: dict[str, object] = {"layers": [str(p) for p in layers], "dates": dates, "tile_size_px": tile_size,
                                "tiles_measured": len(tiles), "tiles_kept": len(split_of), "block_tiles": used_block,
                                "layout_adapted": (tile_size, used_block) != (asked[0], asked[1]), "splits": {}}
    for split in SPLITS:
        balanced = _balance(rows[split], random.Random(seed))
        (out / f"{split}.json").write_text(json.dumps(balanced, ensure_ascii=False, indent=1), encoding="utf-8")
        stats["splits"][split] = _stats(balanced)
    (out / "stats.json").write_text(json.dumps(stats, ensure_ascii=False, indent=2), encoding="utf-8")
    return stats


def _render(tile, products, grid, window, folder: Path) -> list[str]:
    """The tile's true-colour image per date (engine renderer, tile-sized), saved once; relative paths."""
    from rasterio.windows import Window
    from rasterio.windows import bounds as window_bounds

    from engine.scene.render import RenderConfig
    from engine.types import Extent
    from training.data import save_true_colour

    tile_window = Window(int(window.col_off) + tile.col0, int(window.row_off) + tile.row0, tile.size_px, tile.size_px)
    extent = Extent(*window_bounds(tile_window, grid.transform), grid.crs.to_string())
    pixels = tile.size_px * tile.size_px
    config = RenderConfig(min_pixels=pixels, max_pixels=pixels, use_overviews=False)
    names = []
    for product in products:
        name = f"r{tile.row}c{tile.col}_{product.acquired}.png"
        if not (folder / name).exists():
            save_true_colour(product, extent, folder / name, config)
        names.append(f"images/{name}")
    return names


def answer_value(answer: str) -> str:
    """What an answer says, unit aside: "0 亩" and "0 公顷" are one value; other answers are themselves."""
    from engine.answer.quantities import read_quantities

    found = read_quantities(answer)
    if len(found) == 1 and found[0].dimension is not None and found[0].text.strip() == answer.strip():
        return f"{found[0].dimension}:{found[0].base_value:.6g}"
    return answer


def _balance(rows: list[dict], rng: random.Random) -> list[dict]:
    """Per question type and language, no answer value (0 in any unit is one value) makes more than
    ``max(MAX_SHARE, 1 / values)`` of the rows: yes/no and other two-valued types are equalised, three values
    get a third each, more are capped at a quarter (the excess is sampled down). A yes/no type with one answer
    only is left out (nothing to balance it with); another type with one value is kept, so that small splits
    are not emptied (``stats.json`` shows its majority baseline of 1)."""
    groups: dict[tuple[str, str], dict[str, list[dict]]] = collections.defaultdict(
        lambda: collections.defaultdict(list))
    for row in rows:
        groups[(row["question_type"], row["language"])][answer_value(row["answer"])].append(row)
    keep = []
    for by_answer in groups.values():
        if len(by_answer) < 2:
            if not set(by_answer) & YES_NO:
                keep += next(iter(by_answer.values()))
            continue
        limit = _cap(sorted(len(v) for v in by_answer.values()), max(MAX_SHARE, 1 / len(by_answer)))
        for value in sorted(by_answer):
            answer_rows = by_answer[value]
            keep += rng.sample(answer_rows, limit) if len(answer_rows) > limit else answer_rows
    keep.sort(key=lambda r: r["id"])
    return keep


def _cap(counts: list[int], share: float) -> int:
    """The largest per-value count L with L <= share * sum(min(c, L)): no value then passes ``share``."""
    for limit in range(max(counts), 0, -1):
        if limit <= share * sum(min(c, limit) for c in counts) + 1e-9:
            return limit
    return 1


def _stats(rows: list[dict]) -> dict[str, object]:
    """Per question type: rows, answer distribution (top 10) and the majority-answer baseline accuracy
    (``training.evaluation.majority``, the same function ``training.evaluate`` reports)."""
    from training.evaluation.majority import majority_baselines

    types = {kind: {"rows": b["rows"], "answers": b["answers"], "majority_answer": b["majority_answer"],
                    "majority_baseline_accuracy": b["majority_accuracy"]}
             for kind, b in majority_baselines(rows).items()}
    return {"rows": len(rows), "tiles": len({tuple(r["tile"]) for r in rows}), "types": types}


def main(argv: list[str] | None = None) -> int:
    from training.failures import one_line_errors

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    return one_line_errors(lambda: _build(args), args.debug)


def _build(args: argparse.Namespace) -> int:
    stats = build(args.layer, args.out, args.tile_size, args.min_valid, args.block, args.val, args.test,
                  args.seed, args.reference, args.reference_date, progress=not args.quiet, zones=args.zones,
                  mmu_ha=args.mmu_ha)
    for split, s in stats["splits"].items():
        print(f"{split:<6}{s['rows']:>8} rows{s['tiles']:>7} tiles   " +
              "  ".join(f"{k} {v['rows']} (majority {v['majority_baseline_accuracy']:.0%})"
                        for k, v in s["types"].items()))
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
