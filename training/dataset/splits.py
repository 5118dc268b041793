"""Geographic splits: blocks of tiles go to train, val or test, and no tile touches a tile of another split.

Tiles are grouped in square blocks; each block draws its split (seeded). Where
two splits meet, the tiles of the larger one (train before val before test)
that touch the other are dropped, so neighbouring tiles, which share land and
often patches, never sit on both sides of an evaluation.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

SPLITS = ("train", "val", "test")


def check_shares(block: int, val: float, test: float) -> None:
    """Raise ``ValueError`` unless the split arguments make sense."""
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise ValueError("--val and --test are shares in [0, 1) that leave some training data")
    if block < 1:
        raise ValueError("--block must be at least 1 tile")


def assign(tiles: Iterable[tuple[int, int]], block: int, val: float, test: float,
           seed: int) -> dict[tuple[int, int], str]:
    """Split of each (row, col) tile kept; the tiles that give way on a border between splits are left out."""
    check_shares(block, val, test)
    tiles = list(tiles)
    blocks = sorted({(r // block, c // block) for r, c in tiles})
    rng = random.Random(seed)
    rng.shuffle(blocks)
    n_val, n_test = round(val * len(blocks)), round(test * len(blocks))
    of_block = {b: "val" for b in blocks[:n_val]}
    of_block.update({b: "test" for b in blocks[n_val:n_val + n_test]})
    split = {(r, c): of_block.get((r // block, c // block), "train") for r, c in tiles}
    rank = {"train": 0, "val": 1, "test": 2}  # the smaller split keeps its border tiles; the larger gives way
    kept = {}
    for (r, c), s in split.items():
        neighbours = (split.get((r + dr, c + dc)) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc)
        if all(n is None or rank[n] <= rank[s] for n in neighbours):
            kept[(r, c)] = s
    return kept


MIN_TILE_PX = 112  # 4 x 4 of the model's 28-px patches: the smallest tile the builder adapts down to


def smaller_tiles(tile_size: int) -> list[int]:
    """The tile sizes tried, from the one asked for down to ``MIN_TILE_PX`` (halving; multiples of 28 kept)."""
    sizes, size = [tile_size], tile_size
    while size // 2 >= MIN_TILE_PX:
        size //= 2
        sizes.append(size - size % 28 or size)
    return sizes


def first_full(tiles: list[tuple[int, int]], block: int, val: float, test: float,
               seed: int) -> tuple[int, dict[tuple[int, int], str]] | None:
    """The largest block size (``block`` down to 1) whose assignment leaves no asked-for split empty, with it."""
    wanted = {"train"} | ({"val"} if val > 0 else set()) | ({"test"} if test > 0 else set())
    for size in range(block, 0, -1):
        split_of = assign(tiles, size, val, test, seed)
        if wanted <= set(split_of.values()):
            return size, split_of
    return None
