"""Sweeps: every township of a county, or every county of a province, measured on the same dates.

One Dask task per area (``dask.distributed``: a local cluster by default, any existing cluster by
scheduler address). Each task runs ``analyse`` with the area as its AOI, exactly as
``python -m engine analyse --aoi AREAS --aoi-name NAME --aoi-name-field FIELD`` would, and writes
that area's facts and findings. The client gathers the summary table, the findings GeoPackage and
the record of the inputs. Areas are independent: one that fails is recorded and the others finish,
and a rerun skips the areas already done.
"""
