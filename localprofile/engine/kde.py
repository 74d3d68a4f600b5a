"""Kernel density estimation (quartic kernel) by binning and convolution, in crimes per km².

Points are linearly binned to the grid (:meth:`Grid.linear_bin`), then convolved with the quartic (biweight) kernel
``K(d) = (1 - d²/h²)²`` for ``d < h`` evaluated at cell-centre offsets and normalised to sum to 1,
so every crime contributes exactly one crime to the surface: summing ``density * cell area`` over
cells gives back the number of crimes (less any smoothed off the grid's edge). Values are crimes
per km² (divide by 1,000,000 for crimes per m²). Linear binning shares each point among its four
nearest cell centres, so the binned estimate stays close to the exact kernel sum even when the
bandwidth spans only a few cells.

>>> import numpy as np
>>> counts = np.zeros((9, 9)); counts[4, 4] = 10
>>> dens = quartic_kde(counts, cell_size=100, bandwidth=250)
>>> round(float(dens.sum() * 100**2 / 1e6), 6)   # integral = 10 crimes
10.0
>>> bool(dens[4, 4] == dens.max())
True
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import fftconvolve
from scipy.spatial import cKDTree

from .checks import check_counts, check_positive
from .choices import Choice
from .grid import linear_bin


KERNELS = ("quartic", "epanechnikov", "gaussian")
GAUSSIAN_CUTOFF = 4.0  # the Gaussian kernel is cut at 4 standard deviations (1e-4 of its mass lost)


def kernel_reach(bandwidth: float, kernel: str = "quartic") -> float:
    """How far the kernel reaches: its radius, or for the Gaussian the cut-off at
    :data:`GAUSSIAN_CUTOFF` standard deviations.

    >>> kernel_reach(500.0), kernel_reach(500.0, "gaussian")
    (500.0, 2000.0)
    """
    return bandwidth * (GAUSSIAN_CUTOFF if kernel == "gaussian" else 1.0)


def kernel_weights(cell_size: float, bandwidth: float, kernel: str = "quartic") -> np.ndarray:
    """Kernel weights on a (2r+1)² block of cells, summing to 1.

    ``bandwidth`` is the kernel's radius for the quartic (biweight) and Epanechnikov kernels,
    as in crime mapping software, and its standard deviation for the Gaussian, as in
    scikit-learn's ``KernelDensity``.
    """
    reach = kernel_reach(bandwidth, kernel)
    r = int(math.ceil(reach / cell_size))
    off = np.arange(-r, r + 1) * cell_size
    d2 = off[None, :] ** 2 + off[:, None] ** 2
    u2 = d2 / bandwidth**2
    if kernel == "quartic":
        w = np.where(u2 < 1, (1.0 - u2) ** 2, 0.0)
    elif kernel == "epanechnikov":
        w = np.where(u2 < 1, 1.0 - u2, 0.0)
    elif kernel == "gaussian":
        w = np.where(d2 <= reach**2, np.exp(-0.5 * u2), 0.0)
    else:
        raise ValueError(f"unknown kernel '{kernel}' ({', '.join(KERNELS)})")
    return w / w.sum()


def quartic_kernel(cell_size: float, bandwidth: float) -> np.ndarray:
    """Quartic kernel weights on a (2r+1)² block of cells, summing to 1."""
    return kernel_weights(cell_size, bandwidth, "quartic")


def quartic_kde(counts: np.ndarray, cell_size: float, bandwidth: float, kernel: str = "quartic") -> np.ndarray:
    """Density surface in crimes per km² from a grid of (linearly) binned counts (the quartic
    kernel unless ``kernel`` names another of :data:`KERNELS`)."""
    check_positive(cell_size, "cell_size")
    check_positive(bandwidth, "bandwidth")
    counts = check_counts(counts, "counts")
    return _density(counts, cell_size, bandwidth, kernel)


def _density(counts: np.ndarray, cell_size: float, bandwidth: float, kernel: str,
             reuse: bool = False) -> np.ndarray:
    """:func:`quartic_kde` once its inputs are checked (finite, not negative); ``reuse``: the
    surface is written over ``counts`` (a raster the caller made and no longer needs), which
    spares a fresh raster-sized allocation."""
    smooth, peak = convolve_same(counts, _trimmed(kernel_weights(cell_size, bandwidth, kernel)))
    # FFT round-off leaves values of order 1e-16 where the true density is zero; the same cut
    # applies to the direct sum, so both give one surface
    smooth[smooth < 1e-9 * max(peak, 1.0)] = 0.0
    # counts was read in full by the convolution; np.bincount of no points gives integers
    if reuse and counts.dtype == np.float64:
        return np.divide(smooth, cell_size**2 / 1e6, out=counts)
    return smooth / (cell_size**2 / 1e6)


def _trimmed(kernel: np.ndarray) -> np.ndarray:
    """The kernel without its outer rings of zeros (a tap exactly one bandwidth away weighs 0)."""
    t = int(np.flatnonzero(kernel.any(axis=0))[0])  # the kernel is symmetric: rows as columns
    return kernel[t:kernel.shape[0] - t, t:kernel.shape[1] - t]


DIRECT_COST = 0.5  # direct sum when nonzero cells x kernel taps < DIRECT_COST * M log2 M (M: padded size)


def direct_is_cheaper(cells: int, taps: int, size: int) -> bool:
    """Whether adding ``taps`` kernel weights for each of ``cells`` nonzero cells costs less than
    the FFT of a raster of ``size`` cells (:data:`DIRECT_COST`)."""
    return cells * taps < DIRECT_COST * size * math.log2(max(size, 2))


def convolve_same(counts: np.ndarray, kernel: np.ndarray) -> tuple[np.ndarray, float]:
    """``scipy.signal.fftconvolve(counts, kernel, mode="same")`` for a non-negative ``counts`` and
    an odd-sized kernel, and ``counts.max()``.

    Binned crimes fill few cells of a fine raster (West Yorkshire's 52,825 crimes sit on 18,572
    map points: 3% of the cells of its 36 m raster). When the nonzero cells times the kernel's
    taps are below :data:`DIRECT_COST` times M log2 M (M the padded raster's cells; on the
    West Yorkshire rasters the two methods cost the same at 0.5 to 0.9 of it), each nonzero
    cell's kernel is added directly: 2 to 5 times faster than the FFT at the automatic
    bandwidths, and free of FFT round-off. Otherwise the FFT.

    >>> c = np.zeros((6, 7)); c[1, 1] = 2.0; c[4, 5] = 1.0
    >>> k = np.outer([1.0, 2, 1], [1.0, 2, 1]) / 16
    >>> d, peak = convolve_same(c, k)
    >>> bool(np.allclose(d, fftconvolve(c, k, mode="same"))), peak
    (True, 2.0)
    """
    ny, nx = counts.shape
    r0, r1 = kernel.shape[0] // 2, kernel.shape[1] // 2
    flat = counts.ravel()
    cells = np.flatnonzero(flat != 0)
    vals = flat[cells]
    peak = float(vals.max()) if vals.size else 0.0
    dy, dx = np.nonzero(kernel)
    width = nx + 2 * r1
    size = (ny + 2 * r0) * width
    if not direct_is_cheaper(cells.size, dy.size, size):
        return fftconvolve(counts, kernel, mode="same"), peak
    out = np.zeros(size)
    row, col = np.divmod(cells, nx)
    corner = row * width + col  # where the kernel's top-left tap of each nonzero cell lands
    # a loop over the kernel's taps (tens to a few hundred), each a vectorised add over every
    # nonzero cell (np.add.at: a scatter-add in one pass)
    for a, b, k in zip(dy.tolist(), dx.tolist(), kernel[dy, dx].tolist()):
        np.add.at(out[a * width + b:], corner, k * vals)  # the tap's offset as a view
    return out.reshape(ny + 2 * r0, width)[r0:r0 + ny, r1:r1 + nx], peak


def _nrd(v: np.ndarray) -> float:
    """MASS::bandwidth.nrd: 4 * 1.06 * min(sd, IQR/1.34) * n^(-1/5)."""
    q1, q3 = np.quantile(v, [0.25, 0.75])
    return 4 * 1.06 * min(float(np.std(v, ddof=1)), (q3 - q1) / 1.34) * len(v) ** (-1 / 5)


NEIGHBOUR_MULTIPLE = 2.0  # the kernel's radius: twice the median distance between map points


def auto_bandwidth(
    x: np.ndarray, y: np.ndarray, cell_size: float, what: str = "bandwidth (m)", kernel: str = "quartic"
) -> Choice:
    """The automatic KDE bandwidth, from the spacing of police.uk map points.

    police.uk snaps every crime to one of a fixed set of anonymised map points, so a place's
    crimes sit on a point and its neighbours. The radius is :data:`NEIGHBOUR_MULTIPLE` times the
    median distance from each distinct map point of the crimes to its nearest other map point
    (``scipy.spatial.cKDTree``): the kernel reaches the ring of neighbouring points around
    each point, and no further. For the Gaussian ``kernel`` (bandwidth = standard deviation)
    the radius is divided by 2 sqrt 2, the quartic kernel's standard deviation per axis.

    Why: trained on one shipped month and tested on the next, the KDE's PAI at 5% of the area is
    flat for bandwidths from 100 to 400 m in Leeds, Bradford and Kirklees and falls beyond;
    sfhotspot's rule of thumb (MASS::bandwidth.nrd, 2-5 km here) was 19% below it
    (``benchmarks/bench_bandwidth.py``). Map points are some 90-160 m apart, so this rule lands
    at 180-320 m, inside the plateau. Falls back to two cells with fewer than 5 distinct points.

    Parameters
    ----------
    x, y : arrays of eastings and northings (metres) of the theme's located crimes
    cell_size : float
        The Gi* cell size, for the fallback.
    what : str
        The choice's name.
    kernel : {"quartic", "epanechnikov", "gaussian"}

    Returns
    -------
    Choice
        The bandwidth in metres (rounded to 10 m) and why.

    Examples
    --------
    >>> from localprofile.demo import demo_grid
    >>> g = demo_grid("Leeds", theme="all_crime")
    >>> c = auto_bandwidth(g.x, g.y, 500)
    >>> 100 <= c.value <= 400, c.value
    (True, 160.0)
    """
    check_positive(cell_size, "cell_size")
    xy = np.column_stack([np.asarray(x, float), np.asarray(y, float)])
    u = np.unique(xy[np.isfinite(xy).all(axis=1)], axis=0)
    if len(u) < 5:
        return Choice(what, 2 * cell_size,
                      f"automatic: {len(u)} distinct map points are too few to measure their "
                      "spacing; two cell widths used")
    dist, _ = cKDTree(u).query(u, k=2)
    spacing = float(np.median(dist[:, 1]))
    radius = max(10.0, round(NEIGHBOUR_MULTIPLE * spacing / 10) * 10)
    why = (f"automatic: twice the median distance ({spacing:,.0f} m) from each of the {len(u):,} "
           "distinct police.uk map points of the theme's crimes to its nearest neighbour, so the "
           "kernel reaches the ring of neighbouring map points; on backtests of the shipped "
           "months this lies on the plateau of best PAI (100-400 m), where sfhotspot's rule of "
           "thumb (2-5 km) was 19% lower (benchmarks/bench_bandwidth.py)")
    if kernel == "gaussian":
        return Choice(what, round(radius / (2 * math.sqrt(2)), 1),
                      why + "; divided by 2 sqrt 2 for the Gaussian kernel, whose bandwidth is its "
                      "standard deviation (the quartic's per axis)")
    return Choice(what, float(radius), why)


def sfhotspot_bandwidth(
    x: np.ndarray, y: np.ndarray, cell_size: float, what: str = "bandwidth (m)", kernel: str = "quartic"
) -> Choice:
    """sfhotspot's rule of thumb (the earlier default, kept for comparison): the mean of
    MASS::bandwidth.nrd on eastings and northings; for the Gaussian ``kernel`` divided by 4
    (the rule gives 4 standard deviations).

    (sfhotspot writes ``mean(nrd(x), nrd(y))``, which in R returns nrd(x) alone; the mean of the
    two is what its documentation describes, and what is used here.) Falls back to two cells
    when there are too few distinct points for the rule.

    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> c = sfhotspot_bandwidth(rng.normal(0, 1000, 500), rng.normal(0, 1000, 500), 100)
    >>> 1000 < float(c.value) < 1700
    True
    """
    c = _rule_of_thumb(np.asarray(x, float), np.asarray(y, float), cell_size, what)
    if kernel == "gaussian":
        return Choice(what, round(c.value / 4, 1), c.why + "; divided by 4 for the Gaussian kernel, "
                      "whose bandwidth is its standard deviation (MASS::kde2d's convention)")
    return c


def _rule_of_thumb(x: np.ndarray, y: np.ndarray, cell_size: float, what: str) -> Choice:
    if len(x) >= 5:
        h = (_nrd(x) + _nrd(y)) / 2
        if h > 0:
            return Choice(
                what,
                round(h, 1),
                f"automatic, sfhotspot's rule of thumb (mean of MASS::bandwidth.nrd on eastings "
                f"and northings of the {len(x):,} located crimes in the district)",
            )
    return Choice(
        what,
        2 * cell_size,
        f"automatic: {len(x)} located crimes are too few or too clustered for the rule of thumb; "
        "two cell widths used",
    )


# The KDE raster: finer than the Gi* grid, so that a bandwidth below the cell size still shapes
# the surface (on the Gi* grid itself every bandwidth at or below the cell size collapses to the
# binned counts). Its cells divide the Gi* cells exactly, so the surface averaged over each
# Gi* cell is the KDE the Gi* grid, the maps and the backtests use.
MIN_FACTOR = 4  # at least a quarter of the Gi* cell
MAX_FINE_CELLS = 12_000_000  # memory bound for one surface (float64: about 100 MB)


def kde_factor(cell_size: float, bandwidth: float, n_cells: int) -> int:
    """How many KDE raster cells span one Gi* cell: at least :data:`MIN_FACTOR`, and enough that
    a raster cell is at most a quarter of the bandwidth (so a 50 m bandwidth on 500 m cells gets
    12.5 m cells; binning error stays small against a direct kernel sum), within
    :data:`MAX_FINE_CELLS`.

    >>> kde_factor(500, 2000, 4000), kde_factor(500, 200, 4000), kde_factor(500, 50, 4000)
    (4, 10, 40)
    """
    check_positive(cell_size, "cell_size")
    check_positive(bandwidth, "bandwidth")
    f = max(MIN_FACTOR, math.ceil(4 * cell_size / bandwidth))
    cap = max(1, int(math.sqrt(MAX_FINE_CELLS / max(n_cells, 1))))
    return int(min(f, max(cap, 1)))


def kde_raster(grid, x, y, bandwidth: float, kernel: str = "quartic", weights=None,
               factor: int | None = None) -> tuple[np.ndarray, int]:
    """The KDE of points ``x``, ``y`` (optionally ``weights``) on a raster ``factor`` times finer
    than ``grid`` (default :func:`kde_factor`), in crimes per km².

    Parameters
    ----------
    grid : Grid
        The Gi* grid; the raster shares its origin and divides each of its cells into
        ``factor`` x ``factor``.
    x, y : arrays of eastings and northings (EPSG:27700 metres)
    bandwidth : float
        Kernel radius (quartic, Epanechnikov) or standard deviation (Gaussian), metres, above 0.
    kernel : {"quartic", "epanechnikov", "gaussian"}
    weights : array, optional
        Non-negative weight per point (harm, say).
    factor : int, optional

    Returns
    -------
    surface : (rows * factor, cols * factor) float array
    factor : int

    Examples
    --------
    >>> from localprofile.demo import demo_grid
    >>> g = demo_grid("Leeds", theme="drugs")
    >>> a, f = kde_raster(g.grid, g.x, g.y, 200)
    >>> b, _ = kde_raster(g.grid, g.x, g.y, 400, factor=f)
    >>> a.shape == (g.grid.ny * f, g.grid.nx * f), bool(abs(a - b).max() > 1)   # distinct
    (True, True)
    >>> cell_km2 = (g.grid.cell_size / f) ** 2 / 1e6
    >>> round(float(a.sum() * cell_km2 / g.counts.sum()), 2)   # integrates to the crimes on the grid
    1.0
    """
    check_positive(bandwidth, "bandwidth")
    f = factor or kde_factor(grid.cell_size, bandwidth, grid.nx * grid.ny)
    if weights is not None:
        weights = check_counts(weights, "weights")
    cs = grid.cell_size / f  # the raster of fine_grid(grid, f), without its masks
    # linear binning of checked weights gives finite, non-negative cells: no second check
    binned = linear_bin(grid.x0, grid.y1, cs, (grid.ny * f, grid.nx * f), x, y, weights)
    return _density(binned, cs, bandwidth, kernel, reuse=True), f


def fine_grid(grid, factor: int):
    """``grid`` with each cell divided into ``factor`` x ``factor`` (masks repeated)."""
    from dataclasses import replace

    rep = lambda m: np.repeat(np.repeat(m, factor, axis=0), factor, axis=1)  # noqa: E731
    return replace(grid, cell_size=grid.cell_size / factor, nx=grid.nx * factor, ny=grid.ny * factor,
                   active=rep(grid.active), in_area=rep(grid.in_area), near=rep(grid.near))


def block_mean(surface: np.ndarray, factor: int) -> np.ndarray:
    """The mean of each ``factor`` x ``factor`` block: a fine density on the coarse grid.

    >>> block_mean(np.arange(16.0).reshape(4, 4), 2).tolist()
    [[2.5, 4.5], [10.5, 12.5]]
    """
    ny, nx = surface.shape[0] // factor, surface.shape[1] // factor
    return surface.reshape(ny, factor, nx, factor).mean(axis=(1, 3))
