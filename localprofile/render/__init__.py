"""Renderers: turn a :class:`~localprofile.profile.Profile` into files, computing nothing new.

Outputs are written to a temporary folder beside ``out_dir`` and moved into place only when all
of them are complete, so a failed build never leaves a half-written profile. Other files in
``out_dir`` are left alone, except GeoTIFFs (count_, gi_z_, kde_, rate_, harm_kde_, dual_,
raster_, rtm_) the new profile no longer has.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..loading import Progress
from ..profile import Profile
from .geo_files import (
    write_count_surface,
    write_dual_surface,
    write_gi_surface,
    write_harm_surface,
    write_geopackage,
    write_geotiff,
    write_raster_surface,
    write_rate_surface,
    write_rtm_surface,
)
from .html import render_html
from .summary import render_summary


@contextlib.contextmanager
def staged(out_dir: str | Path, written: dict[str, Path]) -> Iterator[Path]:
    """A temporary folder beside ``out_dir`` to write into; when the block ends without an error
    its files are moved into ``out_dir`` (in name order) and entered in ``written`` by name. The
    folder is removed either way."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".localprofile-", dir=out_dir.parent))
    try:
        yield tmp
        for f in sorted(tmp.iterdir()):
            os.replace(f, out_dir / f.name)
            written[f.name] = out_dir / f.name
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_outputs(profile: Profile, out_dir: str | Path, progress: Progress | None = None) -> dict[str, Path]:
    """Write index.html, summary.json, results.gpkg and the GeoTIFFs into ``out_dir``;
    ``progress`` is told of each file type as it is written."""
    out_dir = Path(out_dir)
    say = progress or (lambda message: None)
    written: dict[str, Path] = {}
    with staged(out_dir, written) as tmp:
        say("writing index.html")
        (tmp / "index.html").write_text(render_html(profile), encoding="utf-8")
        (tmp / "summary.json").write_text(render_summary(profile), encoding="utf-8")
        say("writing results.gpkg")
        write_geopackage(profile, tmp / "results.gpkg")
        say("writing GeoTIFFs")
        for slug in profile.themes:
            write_count_surface(profile, slug, tmp / f"count_{slug}.tif")
            write_gi_surface(profile, slug, tmp / f"gi_z_{slug}.tif")
            write_geotiff(profile, slug, tmp / f"kde_{slug}.tif")
            write_rate_surface(profile, slug, tmp / f"rate_{slug}.tif")
            if profile.themes[slug].harm is not None:
                write_harm_surface(profile, slug, tmp / f"harm_kde_{slug}.tif")
        for dual in profile.duals:
            write_dual_surface(profile, dual, tmp / f"dual_{dual.name}.tif")
        for name in profile.rasters:
            write_raster_surface(profile, name, tmp / f"raster_{name}.tif")
        for slug in profile.rtm:
            write_rtm_surface(profile, slug, tmp / f"rtm_{slug}.tif")
    # A theme dropped since the last build into this folder leaves no stale surface behind.
    kinds = ("count", "gi_z", "kde", "rate", "dual", "raster", "harm_kde", "rtm")
    for old in [f for kind in kinds for f in out_dir.glob(f"{kind}_*.tif")]:
        if old.name not in written:
            old.unlink()
    return written
