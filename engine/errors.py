"""The engine's exception hierarchy.

One base class, one class per failure kind, each with a one-line docstring.
Like rasterio's errors, I/O-flavoured ones also subclass the matching built-in
so callers that only know ``OSError``/``ValueError`` still catch them. The CLI
maps every ``EngineError`` to a one-line message; the HTTP layer (a later
issue) maps them to status codes in one place.
"""

from __future__ import annotations


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""

    #: Short stable code, used by the CLI and (later) the HTTP API.
    code = "engine_error"


class LayerNotFoundError(EngineError, FileNotFoundError):
    """The layer path does not exist."""

    code = "layer_not_found"


class NotARasterError(EngineError, ValueError):
    """The file exists but GDAL cannot open it as a raster."""

    code = "not_a_raster"


class CorruptRasterError(EngineError, OSError):
    """The raster opens but its pixels cannot be read."""

    code = "corrupt_raster"


class MissingCRSError(EngineError, ValueError):
    """The raster has no coordinate reference system."""

    code = "missing_crs"


class ExtentOutsideError(EngineError, ValueError):
    """The requested extent does not intersect the raster."""

    code = "extent_outside"


class NoValidPixelsError(EngineError, ValueError):
    """The extent intersects the raster but every pixel there is invalid."""

    code = "no_valid_pixels"


class BandRolesUnknownError(EngineError, ValueError):
    """The bands of a stack cannot be mapped to roles (red, nir, ...)."""

    code = "band_roles_unknown"


class MissingBandError(EngineError, ValueError):
    """The product lacks a band that the requested computation needs."""

    code = "missing_band"


class MetadataError(EngineError, ValueError):
    """Product metadata (MTL, MTD_MSI*.xml) is missing or malformed."""

    code = "bad_metadata"


class InvalidExtentError(EngineError, ValueError):
    """The extent itself is malformed (xmin >= xmax, unknown CRS, ...)."""

    code = "invalid_extent"


class PathNotAllowedError(EngineError, PermissionError):
    """A layer would read a file outside the folders the service may read."""

    code = "path_not_allowed"


class ExtentTooLargeError(EngineError, ValueError):
    """The extent is too large to read at full resolution or to measure in memory."""

    code = "extent_too_large"


class AnalysisMemoryError(ExtentTooLargeError):
    """The extent's class maps and change labels would not fit the analysis memory budget at once."""


class InvalidResolutionError(EngineError, ValueError):
    """A rendering resolution that cannot be served (finer than the layer allows)."""

    code = "invalid_resolution"


class NoOverlapError(EngineError, ValueError):
    """Two dates of an analysis do not overlap."""

    code = "no_overlap"


class ZonesError(EngineError, ValueError):
    """A zones file cannot be read or used (missing, no CRS, unknown CRS, empty)."""

    code = "bad_zones"


class ReferenceLayerError(EngineError, ValueError):
    """A reference land-use layer cannot be read or has codes the mapping table does not know."""

    code = "bad_reference"


class ModelBuildError(EngineError, RuntimeError):
    """The tiny test model could not be built or saved."""

    code = "model_build_failed"


class ModelNotFoundError(EngineError, FileNotFoundError):
    """The model weights are neither a local folder nor in the local Hugging Face cache."""

    code = "model_not_found"


class UnsupportedModelError(EngineError, ValueError):
    """The model's config.json names an architecture the engine cannot run."""

    code = "unsupported_model"


class InsufficientMemoryError(EngineError, MemoryError):
    """Loading the model would not fit in the free memory of the device."""

    code = "insufficient_memory"


class ModelLoadError(EngineError, RuntimeError):
    """The model files exist but could not be loaded."""

    code = "model_load_failed"


class GenerationError(EngineError, RuntimeError):
    """The vision-language model failed while answering (the measured facts still stand)."""

    code = "generation_failed"


class BackendUnavailableError(EngineError, ConnectionError):
    """The configured backend (e.g. an OpenAI-compatible server) cannot be reached."""

    code = "backend_unavailable"


class FactsError(EngineError, ValueError):
    """A facts record to audit against is not what ``analyse --json`` prints."""

    code = "bad_facts"


class CancelledError(EngineError):
    """The client went away or cancelled: the work stopped."""

    code = "cancelled"


class EngineWarning(UserWarning):
    """Base class of recoverable problems (reported, not fatal)."""



class CacheWarning(EngineWarning):
    """A cache entry was damaged or incomplete and is being recomputed."""


class DateOrderWarning(EngineWarning):
    """Layers were given out of acquisition-date order and were sorted."""


class AoiError(EngineError, ValueError):
    """An area-of-interest file cannot be read or used (missing, no CRS, no such feature, no polygon)."""

    code = "bad_aoi"


class ReportError(EngineError, ValueError):
    """A report cannot be made from these inputs (e.g. an area outside China's CGCS2000 plane zones)."""

    code = "bad_report"


class SweepError(EngineError, ValueError):
    """A sweep's inputs are unusable (areas file, name field, layers, output folder)."""

    code = "bad_sweep"


class PhotoError(EngineError, ValueError):
    """A file given as a photo is not a readable PNG or JPEG image."""

    code = "bad_photo"
