"""What one request may ask of the machine: a full-resolution pass and the analysis arrays, refused up front.

A raster's header can claim any size (a 1,000,000 × 1,000,000 GeoTIFF is a
48 MB file). Reading such an extent at full resolution would take hours, and
its class maps would need terabytes, so both are refused before anything is
read or allocated, with the size and the way on (a smaller ``--bbox``, a
coarser layer, overviews built beforehand).
"""

from __future__ import annotations

from rasterio.windows import Window

from engine.errors import AnalysisMemoryError, ExtentTooLargeError

FULL_READ_MAX_MPX = 2500  # megapixels per date read at full resolution (a few minutes on two cores)
ANALYSIS_BYTES_PER_PIXEL = 5  # transition codes (1) and component labels (4), besides one class map per date
DEFAULT_ANALYSIS_MB = 8192  # the class maps, codes and labels of one analysis


def describe(window: Window) -> str:
    w, h = int(window.width), int(window.height)
    return f"{w:,} × {h:,} px ({w * h / 1e6:,.0f} Mpx)"


def check_full_read(window: Window, what: str, max_mpx: float = FULL_READ_MAX_MPX) -> None:
    """Refuse a full-resolution pass over more than ``max_mpx`` megapixels."""
    if int(window.width) * int(window.height) > max_mpx * 1e6:
        raise ExtentTooLargeError(
            f"{what} would read {describe(window)} at full resolution, more than the {max_mpx:,.0f} Mpx that "
            "finish in minutes; choose a smaller area with --bbox (or zoom in), or use a coarser layer")


def check_analysis_memory(window: Window, dates: int, budget_mb: int = DEFAULT_ANALYSIS_MB) -> None:
    """Refuse an analysis whose class maps, codes and labels would not fit ``budget_mb``."""
    needed_mb = int(window.width) * int(window.height) * (dates + ANALYSIS_BYTES_PER_PIXEL) / 2**20
    if needed_mb > budget_mb:
        raise AnalysisMemoryError(
            f"measuring {describe(window)} over {dates} date(s) needs about {needed_mb:,.0f} MB for its class "
            f"maps and change labels, over the {budget_mb:,} MB allowed (--max-memory-mb); choose a smaller "
            "area with --bbox, or a coarser layer")
