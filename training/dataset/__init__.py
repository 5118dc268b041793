"""Training data from a county's own layers: measured facts per tile, questions from them, leak-free splits.

The way RSVQA was generated from OpenStreetMap: every answer is computed from
the engine's measurements of the tile (``tiles``), questions come from
templates in Chinese and English (``questions``), and tiles are split by
geography so no tile and no neighbour of it lands in two splits (``splits``).
``python -m training.build_dataset`` puts them together.
"""
