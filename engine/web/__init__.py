"""The browser page on the engine service (Gradio at /ui)."""
