"""Processing provider: the engine's ask and change polygons as algorithms (Model Builder, batch mode)."""
