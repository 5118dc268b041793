"""A toy dataset whose answer is in the image, for smoke-testing the pipeline end to end (not for real training).

"是否有水体？" over small images that are blue (water: 是) or green (vegetation: 否), with a
little colour noise, in the seed's LLaVA format. ``scripts/train_demo.sh`` and the tests use it.

    python -m training.toy data/toy --rows 64
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

QUESTION = "是否有水体？"


def write_toy_dataset(folder: Path, rows: int = 64, seed: int = 0, side_px: int = 56, name: str = "train") -> Path:
    """Write ``rows`` images and ``<name>.json`` into ``folder``; returns the JSON's path."""
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    records = []
    for i in range(rows):
        water = bool(rng.integers(0, 2))
        colour = np.array([30, 60, 200] if water else [40, 160, 40]) + rng.integers(-25, 25, 3)
        pixels = np.clip(colour + rng.integers(-10, 10, (side_px, side_px, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"{name}{i}.png")
        records.append({"id": f"{name}{i}", "image": f"{name}{i}.png", "question_type": "presence",
                        "conversations": [{"from": "human", "value": "<image>" + QUESTION},
                                          {"from": "gpt", "value": "是" if water else "否"}]})
    path = folder / f"{name}.json"
    path.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.toy", description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="where the images and train.json go")
    parser.add_argument("--rows", type=int, default=64, help="how many rows (default 64)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(write_toy_dataset(args.folder, args.rows, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
