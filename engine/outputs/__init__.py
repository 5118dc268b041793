"""Outputs: what a bureau hands on, made from one analysis and its answer.

``register`` (every change patch as a row, in CGCS2000), ``files`` (the register as Excel, GeoPackage and
Shapefile), ``pictures`` (the overview map and before/after chips), ``document`` (the Word report) and
``report`` (all of them into one folder, plus a PDF when LibreOffice is installed).
"""
