"""Prompt building, grounding boxes and the numbers audit."""
