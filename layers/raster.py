"""Any GeoTIFF (or other single raster GDAL reads): a population grid, a density or rate surface.

Options (``options:`` in the catalog):

========== ======================================================================================
option     meaning
========== ======================================================================================
statistic  what a cell holds: "sum" (default) for counts such as people per cell, so areas get
           sums and resampling keeps totals; "mean" for rates and densities, which are averaged
band       the band to read (default 1)
label      how the profile names the layer's values (default: the band's description, else the
           file name)
========== ======================================================================================

Output: ``frame`` is an empty DataFrame (a raster has no rows); ``meta["raster"]`` is a
:class:`localprofile.engine.zonal.Raster` holding the band as read (``array``, rows x columns,
row 0 the north edge), its ``transform``, ``crs`` (a rasterio CRS, any: reprojection to
EPSG:27700 happens in :mod:`localprofile.engine.zonal`), ``nodata``, ``statistic`` and ``label``.
The other ``meta`` entries are plain facts: ``crs``, ``cell_size`` (x, y in the raster's
units), ``shape`` (rows, columns), ``band``, ``statistic``, ``label``.

Record account, over cells: read = every cell of the band, used = cells holding data, dropped
"nodata" = cells equal to the declared nodata value or not finite numbers. A raster without a
coordinate reference system is an error.

>>> import tempfile
>>> from pathlib import Path
>>> import numpy as np, rasterio
>>> from affine import Affine
>>> from localprofile.catalog import LayerSpec
>>> path = Path(tempfile.mkdtemp()) / "people.tif"
>>> with rasterio.open(path, "w", driver="GTiff", width=3, height=2, count=1, dtype="float32",
...                    crs="EPSG:27700", transform=Affine(100, 0, 430000, 0, -100, 434000),
...                    nodata=-1) as dst:
...     dst.write(np.array([[5, 0, -1], [7, 2, np.nan]], dtype="float32"), 1)
>>> spec = LayerSpec(adapter="raster", path="x", vintage="2020", licence="OGL",
...     attribution="a", sensitivity="open", options={"label": "residents"})
>>> data = load([path], spec)
>>> data.account.to_dict()
{'read': 6, 'used': 4, 'dropped': {'nodata': 2}, 'notes': {}}
>>> r = data.meta["raster"]
>>> r.total(), r.statistic, r.label, data.meta["crs"], data.meta["cell_size"]
(14.0, 'sum', 'residents', 'EPSG:27700', [100.0, 100.0])
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pandas as pd
import rasterio
from pydantic import BaseModel, ConfigDict, Field

from ..account import LayerData, RecordAccount
from ..engine.zonal import Raster
from ..errors import InputError
from ..validate import require_file

if TYPE_CHECKING:
    from ..catalog import LayerSpec
    from ..loading import LoadContext

ROLE = "raster"
REQUIRED = False


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")
    statistic: Literal["sum", "mean"] = "sum"
    band: int = Field(1, ge=1)
    label: str | None = None


def load(paths: list[Path], spec: LayerSpec, ctx: LoadContext | None = None) -> LayerData:
    """Read one band of one raster file into memory, with its georeferencing."""
    opts = spec.opts()
    if len(paths) != 1:
        raise InputError(
            f"a raster layer reads one file; its path gives {len(paths)}", file=paths[0]
        )
    path = require_file(paths[0])
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise InputError(
                    "no coordinate reference system declared (set one, e.g. with "
                    "gdal_edit.py -a_srs EPSG:27700)", file=path,
                )
            if opts.band > src.count:
                raise InputError(
                    f"band {opts.band} asked for; the raster has {src.count}", file=path,
                    key="options.band",
                )
            array = src.read(opts.band)
            nodata = src.nodatavals[opts.band - 1]
            crs, transform = src.crs, src.transform
            described = src.descriptions[opts.band - 1]
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"cannot read as a raster ({str(exc).splitlines()[0]})", file=path) from None
    label = opts.label or spec.label or described or path.stem
    raster = Raster(array, transform, crs, nodata, opts.statistic, label)
    acc = RecordAccount(read=int(array.size))
    acc.partition([("nodata", ~raster.valid.ravel())])
    acc.check(spec.adapter)
    epsg = crs.to_epsg()
    meta = {
        "raster": raster,
        "crs": f"EPSG:{epsg}" if epsg else crs.to_string(),
        "cell_size": [abs(float(transform.a)), abs(float(transform.e))],
        "shape": [int(array.shape[0]), int(array.shape[1])],
        "band": opts.band,
        "statistic": opts.statistic,
        "label": label,
    }
    return LayerData(pd.DataFrame(), acc, meta)
