"""Toy datasets whose answer is in the image, for smoke-testing the pipeline end to end (not for real training).

- ``presence``: "是否有水体？" over small images that are blue (water: 是) or green (vegetation: 否);
- ``share``: "水体占比是多少？" over images whose left part is blue, 0 to 100 % in steps of 10 (e.g. "40%"):
  a numeric answer, where graded reward credit tells near misses apart.

With a little colour noise, in the seed's LLaVA format. ``scripts/train_demo.sh`` and the tests use them.

    python -m training.toy data/toy --rows 64 [--task share]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

QUESTION = "是否有水体？"
SHARE_QUESTION = "水体占比是多少？"
WATER, VEGETATION = (30, 60, 200), (40, 160, 40)


def write_toy_dataset(folder: Path, rows: int = 64, seed: int = 0, side_px: int = 56, name: str = "train",
                      task: str = "presence") -> Path:
    """Write ``rows`` images and ``<name>.json`` into ``folder``; returns the JSON's path."""
    import numpy as np
    from PIL import Image

    if task not in ("presence", "share"):
        raise ValueError(f"unknown toy task {task!r}: presence or share")
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    records = []
    for i in range(rows):
        if task == "presence":  # all water or none
            tenths = 10 * int(rng.integers(0, 2))
            colour = np.array(WATER if tenths else VEGETATION) + rng.integers(-25, 25, 3)
            pixels = np.broadcast_to(colour, (side_px, side_px, 3))
        else:  # the left tenths are water
            tenths = int(rng.integers(0, 11))
            edge = round(side_px * tenths / 10)
            pixels = np.empty((side_px, side_px, 3), dtype=np.int64)
            pixels[:, :edge] = np.array(WATER) + rng.integers(-25, 25, 3)
            pixels[:, edge:] = np.array(VEGETATION) + rng.integers(-25, 25, 3)
        pixels = np.clip(pixels + rng.integers(-10, 10, (side_px, side_px, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"{name}{i}.png")
        if task == "presence":
            question, answer, kind = QUESTION, "是" if tenths else "否", "presence"
        else:
            question, answer, kind = SHARE_QUESTION, f"{10 * tenths}%", "percent"
        records.append({"id": f"{name}{i}", "image": f"{name}{i}.png", "question_type": kind,
                        "conversations": [{"from": "human", "value": "<image>" + question},
                                          {"from": "gpt", "value": answer}]})
    path = folder / f"{name}.json"
    path.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.toy", description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="where the images and train.json go")
    parser.add_argument("--rows", type=int, default=64, help="how many rows (default 64)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--task", choices=["presence", "share"], default="presence",
                        help="presence: 是否有水体？ (是/否); share: 水体占比是多少？ (0%%-100%%)")
    args = parser.parse_args(argv)
    print(write_toy_dataset(args.folder, args.rows, args.seed, task=args.task))
    return 0


if __name__ == "__main__":
    sys.exit(main())
