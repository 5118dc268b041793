"""Scene stage: open layers as products, read extents, render images for the model."""
