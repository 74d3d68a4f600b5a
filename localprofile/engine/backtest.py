"""How well hotspot methods predict: risk surfaces from a training period, scored on a later one.

This follows open_cp's evaluation (QuantCrimAtLeeds/PredictCode, ``open_cp.evaluation`` and
``open_cp.prohotspot``), written afresh here because open_cp no longer runs on current NumPy (it
uses ``np.bool`` and ``np.int``, removed in NumPy 1.24). Everything is vectorised: one sort per
surface serves every coverage level.

**Selection.** The cells of the study area (``in_area``) are ranked by score, highest first; ties
(and NaN scores, which rank last) are broken by row-major cell order (the north-west cell first),
as open_cp's ``top_slice`` takes "the first (in the natural ordering) cells". At coverage ``c`` the
top ``k = ceil(c * n)`` of the ``n`` in-area cells are selected (open_cp uses ``floor``; ``ceil``
keeps at least one cell at 1% of a small area). All cells have the same area, so the selected
area share is ``a/A = k/n``. Crimes are counted in the in-area cells only, test and training alike.

**Metrics** at each coverage, with ``n`` test crimes in the selected cells out of ``N``:

* hit rate = ``n / N`` (open_cp's ``hit_rates``; Bowers, Johnson & Pease 2004).
* PAI, predictive accuracy index (Chainey, Tompson & Uhlig 2008, *Security Journal* 21:4-28)
  = ``(n / N) / (a / A)``; 1 is what a random choice of cells gets on average.
* PEI, predictive efficiency index (Hunt 2016, NIJ Real-Time Crime Forecasting Challenge)
  = ``PAI / PAI*`` where ``PAI*`` is the PAI of the best possible ``k`` cells (those with the most
  test crimes); with equal cells this is ``n / n*``, between 0 and 1. (open_cp's
  ``maximum_hit_rate``; ptools' ``pai`` "observed PAI divided by the best possible PAI".)
* RRI, recapture rate index (Levine 2008, *Security Journal* 21:295-302)
  = ``(n_test / n_train) / (N_test / N_train)``: the crimes the selected cells hold in the test
  period relative to the training period, divided by the same ratio for the whole area, i.e.
  ``PAI_test / PAI_train`` for the same cells. 1 means the selected cells kept their share of
  crime; below 1, their share fell. NaN when the selected cells held no training crime. (Other
  tools use other quantities under the name, e.g. ptools' predicted/observed counts; this is
  Levine's, as in routineactivity/pai-tool's ``RRI = PAI_T2 / PAI_T1``.)

>>> import numpy as np
>>> score = np.array([[3.0, 1.0], [2.0, 0.0]])
>>> test = np.array([[4.0, 0.0], [1.0, 5.0]])
>>> t = hit_metrics(score, test, np.ones((2, 2), bool), coverages=(0.25, 0.5))
>>> t[["cells", "hits", "hit_rate", "pai", "pei"]].round(3).values.tolist()
[[1.0, 4.0, 0.4, 1.6, 0.8], [2.0, 5.0, 0.5, 1.0, 0.556]]
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.signal import fftconvolve

from .choices import Choice
from .gistar import gi_star
from .grid import Grid
from .kde import auto_bandwidth, block_mean, kde_raster

DEFAULT_COVERAGES = (0.01, 0.05, 0.10)
METHODS = ("count", "kde", "gistar", "prospective")

# Bowers, Johnson & Pease (2004), "Prospective hot-spotting: the future of crime mapping?",
# Brit. J. Criminol. 44:641-658: 50 m cells, weight 1/(1 + cells away) x 1/(1 + weeks ago),
# within 400 m and 2 months (open_cp.prohotspot.ClassicWeight: 400/50 cells, 8 weeks).
PROSPECTIVE_BANDWIDTH_M = 400.0
PROSPECTIVE_MONTHS = 2
PROSPECTIVE_UNIT_M = 50.0
MAX_SUBCELLS = 10_000_000  # the fine prospective grid: 80 MB of float64 (its FFT needs a few)


def rank_cells(score2d: np.ndarray, in_area2d: np.ndarray) -> np.ndarray:
    """Row-major indices of the in-area cells, highest score first; ties in row-major order,
    NaN last.

    >>> rank_cells(np.array([[1.0, 2.0], [2.0, np.nan]]), np.ones((2, 2), bool)).tolist()
    [1, 2, 0, 3]
    """
    flat = np.flatnonzero(np.asarray(in_area2d, bool))
    s = np.asarray(score2d, float).ravel()[flat]
    s = np.where(np.isnan(s), -np.inf, s)
    return flat[np.argsort(-s, kind="stable")]


def coverage_cells(coverages, n_cells: int) -> np.ndarray:
    """``ceil(c * n_cells)`` cells for each coverage ``c`` (at least 1, at most ``n_cells``).

    >>> coverage_cells((0.01, 0.05, 0.1), 20).tolist()   # 0.1 * 20 is 2, not 2.0000000000000004
    [1, 1, 2]
    """
    c = np.asarray(coverages, float)
    if ((c <= 0) | (c > 1)).any():
        raise ValueError("coverages must lie in (0, 1]")
    return np.clip(np.ceil(np.round(c * n_cells, 9)).astype(int), 1, max(n_cells, 1))


def expected_hits(score2d: np.ndarray, counts2d: np.ndarray, in_area2d: np.ndarray, k: np.ndarray) -> np.ndarray:
    """The crimes in the ``k`` highest-scoring in-area cells when cells of equal score are taken
    at random: the cells above the k-th cell's score in full, and of the cells tied with it, the
    share selected of their crimes (the mean over every order of the ties).

    >>> score = np.array([[3.0, 1.0, 1.0, 1.0]])
    >>> expected_hits(score, np.array([[5.0, 0.0, 3.0, 6.0]]), np.ones((1, 4), bool), np.array([1, 2])).tolist()
    [5.0, 8.0]
    """
    flat = np.flatnonzero(np.asarray(in_area2d, bool))
    s = np.asarray(score2d, float).ravel()[flat]
    s = np.where(np.isnan(s), -np.inf, s)
    c = np.asarray(counts2d, float).ravel()[flat]
    desc = np.sort(s)[::-1]
    out = []
    for kk in np.asarray(k, int):  # one step per coverage
        cut = desc[kk - 1]
        above, tied = s > cut, s == cut
        out.append(c[above].sum() + (kk - above.sum()) / tied.sum() * c[tied].sum())
    return np.array(out, float)


def hit_metrics(
    score2d: np.ndarray,
    test_counts2d: np.ndarray,
    in_area2d: np.ndarray,
    train_counts2d: np.ndarray | None = None,
    coverages=DEFAULT_COVERAGES,
    ties: str = "order",
) -> pd.DataFrame:
    """Hit rate, PAI, PEI and (given training counts) RRI of one surface, one row per coverage.

    Columns: coverage, cells, area_share, test_crimes (N), hits (n), hit_rate, pai, best_hits
    (n*), pei, train_crimes, train_hits, rri. Ratios with a zero denominator are NaN. Cells of
    equal score are taken in row-major order (``ties="order"``, as open_cp's top_slice), or
    at random, counting their expected crimes (``ties="expected"``: for surfaces of few
    distinct values, such as a risk terrain, where the order would decide the result).
    """
    if ties not in ("order", "expected"):
        raise ValueError(f"ties: 'order' or 'expected', not {ties!r}")
    in_area = np.asarray(in_area2d, bool)
    order = rank_cells(score2d, in_area)
    n_cells = order.size
    if n_cells == 0:
        raise ValueError("no cell lies in the study area")
    k = coverage_cells(coverages, n_cells)
    test = np.asarray(test_counts2d, float).ravel()
    total = float(test[order].sum())
    hits = (np.cumsum(test[order])[k - 1] if ties == "order"
            else expected_hits(score2d, test_counts2d, in_area, k))
    best = np.cumsum(np.sort(test[order])[::-1])[k - 1]
    area_share = k / n_cells
    with np.errstate(divide="ignore", invalid="ignore"):
        hit_rate = hits / total if total > 0 else np.full(k.shape, np.nan)
        pei = np.where(best > 0, hits / best, np.nan)
    out = {
        "coverage": np.asarray(coverages, float),
        "cells": k,
        "area_share": area_share,
        "test_crimes": total,
        "hits": hits,
        "hit_rate": hit_rate,
        "pai": hit_rate / area_share,
        "best_hits": best,
        "pei": pei,
        "train_crimes": np.nan,
        "train_hits": np.nan,
        "rri": np.nan,
    }
    if train_counts2d is not None:
        train = np.asarray(train_counts2d, float).ravel()
        train_total = float(train[order].sum())
        train_hits = (np.cumsum(train[order])[k - 1] if ties == "order"
                      else expected_hits(score2d, train_counts2d, in_area, k))
        base = total / train_total if total > 0 and train_total > 0 else np.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            rri = np.where(train_hits > 0, hits / train_hits / base, np.nan)
        out.update(train_crimes=train_total, train_hits=train_hits, rri=rri)
    return pd.DataFrame(out)


# --- risk surfaces from training data ------------------------------------------------------------


def count_surface(grid: Grid, x, y) -> np.ndarray:
    """Training crimes per cell (the naive "hotspots are where crime was" predictor)."""
    return grid.bin(x, y)


def kde_surface(grid: Grid, x, y, bandwidth: float, kernel: str = "quartic") -> np.ndarray:
    """KDE in crimes per km², as the profile computes it (:mod:`.kde`; quartic unless
    ``kernel`` names another)."""
    fine, factor = kde_raster(grid, x, y, bandwidth, kernel)
    return block_mean(fine, factor)


def gistar_surface(grid: Grid, x, y) -> np.ndarray:
    """Gi* z-scores of the cell counts over the grid's active cells (:mod:`.gistar`); NaN
    outside them."""
    return gi_star(grid.bin(x, y), grid.active)[0]


def month_weights(months, end_month: str, window: int = PROSPECTIVE_MONTHS) -> np.ndarray:
    """Bowers et al.'s time weight ``1 / (1 + whole weeks before the end)`` for crimes known only
    by month: the weight averaged over the days of the crime's month (the day being unknown), the
    end being the close of ``end_month``. Crimes more than ``window`` months before get 0.

    >>> month_weights(["2016-07", "2016-06", "2016-05"], "2016-07").round(3).tolist()
    [0.49, 0.147, 0.0]
    """
    m = np.asarray(months, dtype="datetime64[M]")
    end = np.datetime64(end_month, "M")
    lag = (end - m).astype(int)  # 0 = the last month of the training period
    if (lag < 0).any():
        raise ValueError(f"training crimes after the end month {end_month}")
    close = (end + 1).astype("datetime64[D]")
    table = np.zeros(window)
    for j in range(window):  # one entry per month of the window, not per crime
        days = np.arange((end - j).astype("datetime64[D]"), (end - j + 1).astype("datetime64[D]"))
        elapsed = (close - days).astype(float) - 0.5  # mid-day, in days before the close
        table[j] = np.mean(1.0 / (1.0 + np.floor(elapsed / 7)))
    return np.where(lag < window, table[np.minimum(lag, window - 1)], 0.0)


def prospective_kernel(cell: float, bandwidth: float = PROSPECTIVE_BANDWIDTH_M,
                       unit: float = PROSPECTIVE_UNIT_M) -> np.ndarray:
    """Bowers et al.'s space weight ``1 / (1 + d / unit)`` (``d`` in metres, ``unit`` their 50 m
    cell) at cell-centre offsets of a grid of ``cell`` metres, 0 from ``bandwidth`` on.

    >>> prospective_kernel(50, 100)[2].round(3).tolist()
    [0.0, 0.5, 1.0, 0.5, 0.0]
    """
    r = int(math.ceil(bandwidth / cell))
    off = np.arange(-r, r + 1) * cell
    d = np.hypot(off[None, :], off[:, None])
    return np.where(d < bandwidth, 1.0 / (1.0 + d / unit), 0.0)


def subcells_per_side(grid: Grid, unit: float = PROSPECTIVE_UNIT_M) -> int:
    """How many sub-cells of about ``unit`` metres each grid cell is split into (per side), fewer
    when the fine grid would exceed MAX_SUBCELLS."""
    f = max(1, round(grid.cell_size / unit))
    cap = max(1, math.isqrt(MAX_SUBCELLS // max(grid.nx * grid.ny, 1)))
    return min(f, cap)


def prospective_surface(
    grid: Grid,
    x,
    y,
    months,
    end_month: str | None = None,
    bandwidth: float = PROSPECTIVE_BANDWIDTH_M,
    window: int = PROSPECTIVE_MONTHS,
    unit: float = PROSPECTIVE_UNIT_M,
) -> np.ndarray:
    """Prospective hotspotting (Bowers, Johnson & Pease 2004): every training crime adds
    ``1/(1 + d/50 m) * 1/(1 + weeks before the end)`` to each place within ``bandwidth`` metres,
    if within ``window`` months of the end (``end_month``, default the latest training month).

    Their weight is defined on 50 m cells, finer than a profile grid (a 400 m bandwidth would not
    reach past a 500 m cell), so the risk is computed on a sub-grid of about 50 m cells aligned
    with ``grid`` and summed into each grid cell. Crimes are binned onto the sub-grid with their
    month's time weight (:func:`month_weights`) and convolved with the space kernel once: by
    linearity the same as convolving each month's counts and adding. Units are weighted crimes.

    >>> import shapely
    >>> from .grid import make_grid
    >>> g = make_grid(shapely.box(0, 0, 1000, 1000), cell_size=250, buffer=0)
    >>> r = prospective_surface(g, [125, 625], [875, 375], ["2016-07", "2016-03"])
    >>> r.shape, int(np.argmax(r)), float(r[2, 2])   # the March crime is past the 2-month window
    ((4, 4), 0, 0.0)
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    months = np.asarray(months, dtype="datetime64[M]")
    if end_month is None:
        end_month = str(months.max()) if months.size else "2000-01"
    w = month_weights(months, end_month, window)
    f = subcells_per_side(grid, unit)
    sub = grid.cell_size / f
    nxs, nys = grid.nx * f, grid.ny * f
    col = np.floor((x - grid.x0) / sub).astype(np.int64)
    row = np.floor((grid.y1 - y) / sub).astype(np.int64)
    ok = (col >= 0) & (col < nxs) & (row >= 0) & (row < nys) & (w > 0)
    if not ok.any():
        return np.zeros(grid.shape)
    fine = np.bincount(row[ok] * nxs + col[ok], weights=w[ok], minlength=nxs * nys).reshape(nys, nxs)
    risk = fftconvolve(fine, prospective_kernel(sub, bandwidth, unit), mode="same")
    risk[risk < 1e-9 * fine.max()] = 0.0  # FFT round-off where the true risk is zero
    return risk.reshape(grid.ny, f, grid.nx, f).sum(axis=(1, 3))


def risk_surfaces(
    grid: Grid,
    x,
    y,
    months,
    bandwidth: float,
    end_month: str | None = None,
    prospective_bandwidth: float = PROSPECTIVE_BANDWIDTH_M,
    prospective_window: int = PROSPECTIVE_MONTHS,
    kernel: str = "quartic",
) -> dict[str, np.ndarray]:
    """Each method's risk surface (:data:`METHODS`) from the crimes at ``x``, ``y`` in ``months``;
    ``bandwidth`` and ``kernel`` are the KDE's."""
    return {
        "count": count_surface(grid, x, y),
        "kde": kde_surface(grid, x, y, bandwidth, kernel),
        "gistar": gistar_surface(grid, x, y),
        "prospective": prospective_surface(
            grid, x, y, months, end_month, prospective_bandwidth, prospective_window
        ),
    }


# --- the backtest ---------------------------------------------------------------------------------


def _xy(a) -> np.ndarray:
    return np.asarray(a, float).reshape(-1, 2)


def _in_cells(grid: Grid, x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Whether each point falls in a cell of ``mask``."""
    col = np.floor((x - grid.x0) / grid.cell_size).astype(np.int64)
    row = np.floor((grid.y1 - y) / grid.cell_size).astype(np.int64)
    on = (col >= 0) & (col < grid.nx) & (row >= 0) & (row < grid.ny)
    out = np.zeros(len(x), bool)
    out[on] = mask[row[on], col[on]]
    return out


def backtest(
    train_xy,
    train_months,
    test_xy,
    grid: Grid,
    coverages=DEFAULT_COVERAGES,
    bandwidth: float | None = None,
    *,
    end_month: str | None = None,
    prospective_bandwidth: float = PROSPECTIVE_BANDWIDTH_M,
    prospective_window: int = PROSPECTIVE_MONTHS,
    kernel: str = "quartic",
    factors: dict | None = None,
    folds: int = 5,
) -> pd.DataFrame:
    """Score every method (:data:`METHODS`) trained on ``train_xy`` (with ``train_months``,
    ``YYYY-MM``) against ``test_xy`` at each coverage: one row per method and coverage with the
    columns of :func:`hit_metrics` after ``method``. The choices made, with their reasons, are
    in ``table.attrs["choices"]`` (a list of :class:`Choice`). Rows of NaN coordinates are ignored.

    ``bandwidth`` is the KDE's (``kernel`` its kernel, as the profile's ``profile.kernel``; default: the profile's rule, :func:`.kde.auto_bandwidth`, on the
    training crimes in the study area's cells); the prospective method keeps Bowers et al.'s.

    Parameters
    ----------
    train_xy : (n, 2) array of eastings and northings (EPSG:27700 metres)
        The training crimes; rows with a NaN coordinate are ignored.
    train_months : (n,) array of str
        Each training crime's month, ``YYYY-MM`` (the prospective method's time weights).
    test_xy : (m, 2) array of eastings and northings
        The crimes the surfaces are scored against.
    grid : Grid
        The cells that are ranked (those ``in_area``) and counted in.
    coverages : sequence of float in (0, 1], default (0.01, 0.05, 0.10)
        Shares of the study area's cells selected, highest score first.
    bandwidth : float, optional
        The KDE's bandwidth in metres; default the profile's rule on the training crimes.
    end_month : str, optional
        The close of the training period, ``YYYY-MM``; default the latest training month.
    prospective_bandwidth : float, default 400
        Metres within which the prospective method's crimes count (Bowers et al.).
    prospective_window : int, default 2
        Months before ``end_month`` within which the prospective method's crimes count.
    kernel : {"quartic", "epanechnikov", "gaussian"}, default "quartic"
        The KDE's kernel.
    factors : dict of name -> rtm.Factor, optional
        Candidate risk factors (:func:`.rtm.risk_factors` on ``grid``): with them, the risk
        terrain fitted to the training counts is scored too, as method ``rtm``.

    Returns
    -------
    pandas.DataFrame
        One row per method and coverage: ``method`` then the columns of :func:`hit_metrics`
        (``cells``, ``hits``, ``hit_rate``, ``pai``, ``pei``, ``rri`` ...); the choices made, with
        their reasons, in ``.attrs["choices"]``.

    Examples
    --------
    >>> from localprofile.demo import demo_grid
    >>> g = demo_grid("Leeds", theme="all_crime")     # shipped data: train July 2016, test July 2017
    >>> train, test = g.months == "2016-07", g.months == "2017-07"
    >>> t = backtest(np.column_stack([g.x[train], g.y[train]]), g.months[train],
    ...              np.column_stack([g.x[test], g.y[test]]), g.grid, coverages=(0.05,))
    >>> int(t["cells"][0]), int(t["test_crimes"][0])   # 5% of 2,204 cells; test crimes in Leeds's cells
    (111, 9664)
    >>> t.set_index("method")["pai"].round(1).to_dict()
    {'count': 8.5, 'kde': 8.5, 'gistar': 7.7, 'prospective': 8.4}

    On made-up crimes, a tight cluster over uniform noise, every method beats a random choice:

    >>> import shapely
    >>> from .grid import make_grid
    >>> g = make_grid(shapely.box(0, 0, 2000, 2000), cell_size=100, buffer=200)
    >>> rng = np.random.default_rng(0)
    >>> def crimes(n): return np.vstack([rng.normal(500, 60, (n, 2)), rng.uniform(0, 2000, (n, 2))])
    >>> t = backtest(crimes(300), ["2017-06"] * 600, crimes(300), g, bandwidth=300)
    >>> t.groupby("method", sort=False)["pai"].min().gt(1).to_dict()
    {'count': True, 'kde': True, 'gistar': True, 'prospective': True}
    """
    train, test = _xy(train_xy), _xy(test_xy)
    months = np.asarray(train_months).astype(str)
    if len(months) != len(train):
        raise ValueError("train_xy and train_months differ in length")
    keep = np.isfinite(train).all(axis=1)
    train, months = train[keep], months[keep]
    test = test[np.isfinite(test).all(axis=1)]
    if end_month is None:
        end_month = str(np.asarray(months, dtype="datetime64[M]").max()) if len(months) else None
    tx, ty = train[:, 0], train[:, 1]
    train_counts, test_counts = grid.bin(tx, ty), grid.bin(test[:, 0], test[:, 1])
    choices = [
        Choice(
            "hotspot selection",
            f"top ceil(coverage x {int(grid.in_area.sum()):,}) cells at coverages "
            + ", ".join(f"{c:g}" for c in coverages),
            "cells of the study area ranked by each method's score; ties broken by row-major cell "
            "order (north-west first), as open_cp's top_slice; crimes counted in those cells only",
        ),
        Choice("training period ends", end_month, "the latest training month, unless given; "
               "the prospective method's time weights count back from the end of that month"),
    ]
    if bandwidth:
        choices.append(Choice("KDE bandwidth (m)", float(bandwidth), "given by the caller"))
    else:
        inside = _in_cells(grid, tx, ty, grid.in_area)
        c = auto_bandwidth(tx[inside], ty[inside], grid.cell_size, what="KDE bandwidth (m)", kernel=kernel)
        choices.append(Choice(c.what, float(c.value), f"{c.why}; the training crimes in the study area's "
                              "cells, as the profile chooses its own bandwidth"))
        bandwidth = float(c.value)
    f = subcells_per_side(grid)
    choices += [
        Choice(
            "prospective weights",
            f"1/(1 + d/{PROSPECTIVE_UNIT_M:g} m) x 1/(1 + weeks), within {prospective_bandwidth:g} m "
            f"and {prospective_window} months",
            "Bowers, Johnson & Pease (2004), whose best burglary forecasts used 400 m and 2 months "
            "on 50 m cells (open_cp's ClassicWeight); police.uk gives the month only, so the week "
            "weight is averaged over the days of each crime's month",
        ),
        Choice(
            "prospective sub-grid (m)",
            grid.cell_size / f,
            f"each {grid.cell_size:g} m cell split into {f}x{f} cells near Bowers et al.'s 50 m, so "
            "the 400 m weight is resolved, then summed back into the cell",
        ),
        Choice("Gi* score", "z-score", "binary queen Gi* of the training counts over the grid's "
               "active cells, as in the profile; the hottest z ranks first"),
    ]
    surfaces = risk_surfaces(grid, tx, ty, months, bandwidth, end_month,
                             prospective_bandwidth, prospective_window, kernel)
    if factors:
        from .rtm import risk_terrain

        rt = risk_terrain(train_counts, grid.in_area, factors, folds=folds, seed=0)
        surfaces["rtm"] = np.nan_to_num(rt.surface, nan=0.0)
        choices += [*rt.choices, Choice(
            "RTM score", "risk terrain",
            "the product of the relative risk values of the factors selected on the training crimes; "
            "a terrain has few distinct values, so the cells tied at the cut are taken at random "
            "and count their expected crimes (row-major order would decide the result)")]
    table = pd.concat(
        [
            hit_metrics(s, test_counts, grid.in_area, train_counts, coverages,
                        ties="expected" if m == "rtm" else "order").assign(method=m)
            for m, s in surfaces.items()
        ],
        ignore_index=True,
    )
    table = table[["method", *[c for c in table.columns if c != "method"]]]
    table.attrs["choices"] = choices
    return table
