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

from .choices import Choice


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
    kernel = kernel_weights(cell_size, bandwidth, kernel)
    smooth = fftconvolve(counts, kernel, mode="same")
    # FFT round-off leaves values of order 1e-16 where the true density is zero.
    smooth[smooth < 1e-9 * max(float(counts.max()), 1.0)] = 0.0
    return smooth / (cell_size**2 / 1e6)


def _nrd(v: np.ndarray) -> float:
    """MASS::bandwidth.nrd: 4 * 1.06 * min(sd, IQR/1.34) * n^(-1/5)."""
    q1, q3 = np.quantile(v, [0.25, 0.75])
    return 4 * 1.06 * min(float(np.std(v, ddof=1)), (q3 - q1) / 1.34) * len(v) ** (-1 / 5)


def auto_bandwidth(
    x: np.ndarray, y: np.ndarray, cell_size: float, what: str = "bandwidth (m)", kernel: str = "quartic"
) -> Choice:
    """sfhotspot's rule of thumb: the mean of MASS::bandwidth.nrd on eastings and northings;
    for the Gaussian ``kernel`` divided by 4 (the rule gives 4 standard deviations).

    (sfhotspot writes ``mean(nrd(x), nrd(y))``, which in R returns nrd(x) alone; the mean of the
    two is what its documentation describes, and what is used here.) Falls back to two cells
    when there are too few distinct points for the rule.

    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> c = auto_bandwidth(rng.normal(0, 1000, 500), rng.normal(0, 1000, 500), 100)
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
