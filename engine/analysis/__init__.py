"""Analysis stage: land cover, change, areas and the facts record."""
