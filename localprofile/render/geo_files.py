"""GeoPackage and GeoTIFF outputs for QGIS and ArcGIS.

``results.gpkg`` layers (each layer's description starts with the marking and audience):
``study_area`` (district_code, district_name, marking, audience); ``lsoa`` (lsoa_code,
lsoa_name, msoa_code, msoa_name, population, imd_rank, imd_decile, count_<theme>, rate_<theme>,
context__<layer>[_synthetic], table__<layer>__<field>, raster__<layer>);
``grid_<theme>`` with one row per cell that entered the Gi* computation: row, col, count, kde
(crimes per km²), gi_z, gi_p (two-sided), gi_q (Benjamini-Hochberg over in-area cells; empty
outside), hotspot (hot/cold/none), in_study_area.

``hex_<theme>`` (with ``grid_shape: hexagon``: the hexagons that entered Gi*, as grid_<theme>);
``repeats_<theme>`` (repeat-location clusters: cluster, crimes, points, location_1..3 with their
crimes, hull polygon); ``neighbourhoods`` (code, name, per context layer
a count column, whole numbers, NULL where a partner's restricted count is suppressed, and a
``<column>_suppressed`` flag: "none", "small count (<5)" or "secondary (withheld so the small one
cannot be worked out)"); ``context_<layer>`` (``_synthetic`` appended
for synthetic data): the points of each context layer the audience may see, in the district.

``kde_<theme>.tif``: float32 GeoTIFF in EPSG:27700, crimes per km², NaN outside the district
(``profile.clip_outputs: false`` keeps the buffer cells that entered the analysis); likewise
``rate_``, ``harm_kde_`` and ``dual_`` surfaces. ``monthly_lsoa`` (a table): crimes per LSOA,
theme and month.

Both are reproducible: the GeoPackage's timestamps (``gpkg_contents.last_change``) are the
profile's generation date, not the time of writing, and the GeoTIFFs carry no date at all.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio

from ..engine.kde import fine_grid
from ..engine.suppress import HIDDEN
from ..geo import BNG
from ..profile import Profile
from ..reproducible import gdal_timestamp


@contextlib.contextmanager
def gdal_options(options: dict[str, str]) -> Iterator[None]:
    """GDAL configuration ``options`` set within the block, as they were after it."""
    before = {k: pyogrio.get_gdal_config_option(k) for k in options}
    pyogrio.set_gdal_config_options(options)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(before)


def gdal_date(timestamp: str) -> contextlib.AbstractContextManager[None]:
    """GDAL's vector drivers date what they write ``timestamp`` ("YYYY-MM-DDTHH:MM:SS.000Z")
    instead of now, within the block (the ``OGR_CURRENT_DATE`` configuration option)."""
    return gdal_options({"OGR_CURRENT_DATE": timestamp})


def grid_frame(profile: Profile, slug: str) -> gpd.GeoDataFrame:
    """The cells of ``slug``'s grid: those in the district (``profile.clip_outputs``, the default),
    or every cell that entered the Gi* computation, the buffer included, flagged by
    ``in_study_area``."""
    g, t = profile.grid, profile.themes[slug]
    act = g.in_area if profile.settings.clip_outputs else g.active
    rows, cols = np.nonzero(act)
    return gpd.GeoDataFrame(
        {
            "row": rows.astype("int32"),
            "col": cols.astype("int32"),
            "count": t.count[act].astype("int32"),
            "kde": t.kde[act],
            "gi_z": t.gi_z[act],
            "gi_p": t.gi_p[act],
            "gi_q": t.gi_q[act],
            "hotspot": t.hotspot[act].astype(str),
            "in_study_area": g.in_area[act],
            "rate_per_1000": t.rate_surface[act],
            **({"emerging": _in_area_labels(g, t.emerging)[act],
                "emerging_sfhotspot": _in_area_labels(g, t.emerging_sfhotspot)[act]}
               if t.emerging is not None else {}),
            **({"harm": t.harm.grid[act], "harm_kde": t.harm.kde[act], "harm_gi_z": t.harm.gi_z[act],
                "harm_gi_q": t.harm.gi_q[act], "harm_hotspot": t.harm.hotspot[act].astype(str)}
               if t.harm is not None else {}),
        },
        geometry=g.cells(act),
        crs=BNG,
    )


def _in_area_labels(g, labels: np.ndarray) -> np.ndarray:
    """Labels of the in-area cells placed on the whole grid (None elsewhere)."""
    out = np.full(g.shape, None, dtype=object)
    out[g.in_area] = labels
    return out


NOT_SUPPRESSED = "none"
SECONDARY = "secondary (withheld so the small one cannot be worked out)"


def neighbourhood_count_columns(counts: list[int | str]) -> tuple[pd.Series, pd.Series]:
    """A context layer's neighbourhood counts as QGIS can style them: whole numbers (nullable
    Int64, NULL where suppressed) and a suppression flag beside them ("none", "small count (<5)"
    or :data:`SECONDARY`).

    The counts are as :func:`localprofile.engine.suppress.suppress` gives them to partners
    ("12", "<5", "*") or plain ints (force, open layers).

    >>> n, f = neighbourhood_count_columns(["12", "<5", "*", "0"])
    >>> n.tolist()
    [12, <NA>, <NA>, 0]
    >>> f.tolist()[:2], f[2] == SECONDARY
    (['none', 'small count (<5)'], True)
    """
    text = pd.Series([str(v) for v in counts], dtype=object)
    small = text.str.startswith("<").to_numpy(dtype=bool)
    secondary = (text == HIDDEN).to_numpy(dtype=bool)
    numbers = pd.to_numeric(text.where(~(small | secondary)), errors="raise").astype("Int64")
    flags = np.where(small, "small count (" + text + ")", np.where(secondary, SECONDARY, NOT_SUPPRESSED))
    return numbers, pd.Series(flags, dtype=object)


def write_geopackage(profile: Profile, path: Path) -> None:
    """Every vector result in one GeoPackage; each layer's description carries the marking.
    Its timestamps are the profile's generation date.

    SQLite does not wait for the disk after each layer (``OGR_SQLITE_SYNCHRONOUS=OFF``): the
    file's bytes are the same, and :func:`localprofile.render.write_outputs` writes into a
    temporary folder and moves the outputs into place only once all are complete, so a crash
    part-way leaves no half-written GeoPackage behind. Otherwise each layer's commit waits for
    fsync, more than half the wall time of writing the file here."""
    options = {"OGR_CURRENT_DATE": gdal_timestamp(profile.generated), "OGR_SQLITE_SYNCHRONOUS": "OFF"}
    with gdal_options(options):
        _write_geopackage(profile, path)


def _write_geopackage(profile: Profile, path: Path) -> None:
    marking = f"{profile.marking}" + (f", for {profile.audience}" if profile.audience else "")

    def write(frame: gpd.GeoDataFrame, layer: str, what: str) -> None:
        pyogrio.write_dataframe(
            frame, path, layer=layer, driver="GPKG", append=path.exists(),
            layer_options={"DESCRIPTION": f"{marking}. {profile.district.name}: {what}"},
        )

    write(
        gpd.GeoDataFrame(
            {"district_code": [profile.district.code], "district_name": [profile.district.name],
             "marking": [profile.marking], "audience": [profile.audience or ""]},
            geometry=[profile.district.polygon],
            crs=BNG,
        ),
        "study_area", "the district",
    )
    lsoa = profile.lsoa.copy()
    for c in ("population", "imd_rank", "imd_decile"):
        lsoa[c] = lsoa[c].astype("float64").astype("Int64")
    write(lsoa, "lsoa", "counts, rates, deprivation and context by LSOA")
    for slug in profile.themes:
        write(grid_frame(profile, slug), f"grid_{slug}", f"grid cells of theme {slug}: count, KDE, Gi*")
    if profile.monthly_lsoa is not None and len(profile.monthly_lsoa):
        write(profile.monthly_lsoa, "monthly_lsoa", "crimes per LSOA, theme and month")
    for slug, t in profile.themes.items():
        if t.hex is not None:
            h = profile.hexgrid
            act = h.in_area if profile.settings.clip_outputs else h.active
            rows, cols = np.nonzero(act)
            write(gpd.GeoDataFrame(
                {"row": rows.astype("int32"), "col": cols.astype("int32"), "count": t.hex.count[act].astype("int32"),
                 "kde": t.hex.kde[act], "gi_z": t.hex.gi_z[act], "gi_p": t.hex.gi_p[act], "gi_q": t.hex.gi_q[act],
                 "hotspot": t.hex.hotspot[act].astype(str), "in_study_area": h.in_area[act],
                 **({"emerging": _in_area_labels(h, t.hex.emerging)[act],
                     "emerging_sfhotspot": _in_area_labels(h, t.hex.emerging_sfhotspot)[act]}
                    if t.hex.emerging is not None else {}),
                 **({"harm": t.hex.harm[act], "harm_gi_z": t.hex.harm_gi_z[act], "harm_gi_q": t.hex.harm_gi_q[act],
                     "harm_hotspot": t.hex.harm_hotspot[act].astype(str)}
                    if t.hex.harm is not None else {})},
                geometry=h.cells(act), crs=BNG), f"hex_{slug}", f"hexagon cells of theme {slug}: count, KDE, Gi*")
        if t.repeats is not None and len(t.repeats):
            write(t.repeats, f"repeats_{slug}", f"repeat-location clusters of theme {slug} (DBSCAN)")
    if profile.context:
        hoods = profile.neighbourhoods
        table = {"code": hoods.codes, "name": hoods.names}
        for name, c in profile.context.items():
            col = name + ("_synthetic" if c.synthetic else "")
            counts, flags = neighbourhood_count_columns(c.neighbourhood_counts)
            table[col] = counts
            table[f"{col}_suppressed"] = flags
        write(gpd.GeoDataFrame(table, geometry=list(hoods.geometry), crs=BNG), "neighbourhoods",
              "context layers counted by neighbourhood (MSOA)")
    o = profile.overlay
    if o is not None:
        write(o.table, "priority_neighbourhoods",
              f"priority neighbourhoods ({o.unit}): rank, threat and vulnerability scores, class, drivers")
    for name, c in profile.context.items():
        if c.points is not None:
            suffix = "_synthetic" if c.synthetic else ""
            write(c.points.drop(columns=["source"], errors="ignore"), f"context_{name}{suffix}",
                  f"{c.label}{' (SYNTHETIC)' if c.synthetic else ''} in the district")


def _clip(profile: Profile, surface: np.ndarray) -> np.ndarray:
    """A surface as written: NaN outside the district (``profile.clip_outputs``, the default) or
    outside the cells that entered the analysis (the buffer kept)."""
    keep = profile.grid.in_area if profile.settings.clip_outputs else profile.grid.active
    return np.where(keep, surface, np.nan)


def write_geotiff(profile: Profile, slug: str, path: Path) -> None:
    """The theme's KDE raster (finer than the Gi* grid: ``kde_factor`` cells to a Gi* cell)."""
    t = profile.themes[slug]
    fine = fine_grid(profile.grid, t.kde_factor)
    keep = fine.in_area if profile.settings.clip_outputs else fine.active
    _write_grid(profile, np.where(keep, t.kde_fine, np.nan), path, f"KDE {slug} (crimes per km2)", {
        "units": "crimes per km2", "theme": slug, "bandwidth_m": str(t.bandwidth),
        "kernel": profile.settings.kernel, "gi_star_cell_size_m": str(profile.grid.cell_size),
    }, grid=fine)


def write_count_surface(profile: Profile, slug: str, path: Path) -> None:
    t = profile.themes[slug]
    _write_grid(profile, _clip(profile, t.count), path, f"{slug}: crimes per cell", {
        "units": "crimes per cell", "theme": slug})


def write_gi_surface(profile: Profile, slug: str, path: Path) -> None:
    t = profile.themes[slug]
    _write_grid(profile, _clip(profile, t.gi_z), path, f"{slug}: Getis-Ord Gi* z-score", {
        "units": "z-score (analytical)", "theme": slug,
        "neighbourhood": "the square cell and its 8 adjacent cells",
        "note": "hot and cold cells (adjusted q) are in the GeoPackage layer grid_" + slug
                + (" and, on hexagons, hex_" + slug if t.hex is not None else "")})


def write_rate_surface(profile: Profile, slug: str, path: Path) -> None:
    t = profile.themes[slug]
    _write_grid(profile, _clip(profile, t.rate_surface), path,
                f"{slug}: crimes per 1,000 residents (KDE ratio)", {
                    "units": "crimes per 1000 residents", "theme": slug, "bandwidth_m": str(t.bandwidth),
                    "kernel": profile.settings.kernel,
                    "min_residents_km2": str(profile.settings.rate_min_residents_km2)})


def write_rtm_surface(profile: Profile, slug: str, path: Path) -> None:
    rt = profile.rtm[slug]
    sel = rt.selected
    _write_grid(profile, _clip(profile, rt.surface), path,
                f"{slug}: risk terrain (product of the selected factors' relative risk values)", {
                    "units": "relative risk (lowest cell 1)", "theme": slug,
                    "factors": "; ".join(f"{r.factor} RRV {r.rrv:.2f}" for r in sel.itertuples()) or "none selected"})


def write_harm_surface(profile: Profile, slug: str, path: Path) -> None:
    t = profile.themes[slug]
    _write_grid(profile, _clip(profile, t.harm.kde), path, f"harm-weighted KDE {slug} (harm per km2)", {
        "units": "harm per km2", "theme": slug, "bandwidth_m": str(t.bandwidth),
        "kernel": profile.settings.kernel})


def write_dual_surface(profile: Profile, dual, path: Path) -> None:
    _write_grid(profile, _clip(profile, dual.surface), path,
                f"{dual.numerator} {dual.kind} {dual.denominator} (KDE)", {
                    "kind": dual.kind, "numerator": dual.numerator, "denominator": dual.denominator,
                    "bandwidth_m": str(dual.bandwidth), "min_denominator": str(dual.min_denominator),
                    "kernel": profile.settings.kernel})


def write_raster_surface(profile: Profile, name: str, path: Path) -> None:
    """A raster layer resampled onto the analysis grid (sums keep their total)."""
    r = profile.rasters[name]
    _write_grid(profile, r.surface, path, f"{r.label} ({r.statistic} per cell)",
                {"layer": name, "statistic": r.statistic})


def _write_grid(profile: Profile, values: np.ndarray, path: Path, description: str, tags: dict,
                grid=None) -> None:
    g = grid or profile.grid
    data = np.asarray(values, dtype="float32")
    with rasterio.open(
        path, "w", driver="GTiff", height=g.ny, width=g.nx, count=1, dtype="float32",
        crs=BNG, transform=g.transform, nodata=np.nan, compress="deflate",
    ) as dst:
        dst.write(data, 1)
        dst.update_tags(district=profile.district.name, cell_size_m=str(g.cell_size),
                        marking=profile.marking, audience=profile.audience or "", **tags)
        dst.set_band_description(1, description)
