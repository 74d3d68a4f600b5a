"""The engine's verbs check their inputs and say which parameter is wrong; their docstrings give
Parameters, Returns and an example on the shipped data."""

from __future__ import annotations

import numpy as np
import pytest

from localprofile.engine.backtest import backtest
from localprofile.engine.bivariate import bivariate_moran
from localprofile.engine.checks import EngineInputError
from localprofile.engine.dual import dual_surface
from localprofile.engine.emerging import emerging_hotspots
from localprofile.engine.gistar import gi_star
from localprofile.engine.hexgrid import gi_star_hex
from localprofile.engine.lisa import local_moran, queen_weights
from localprofile.engine.permutation import adjust_p, gi_star_permutation
from localprofile.engine.repeat_locations import repeat_locations
from localprofile.engine.trend import change
from localprofile.engine.zonal import onto_grid, zonal_by_polygons

COUNTS = np.arange(25.0).reshape(5, 5)
ACTIVE = np.ones((5, 5), bool)


@pytest.mark.parametrize("verb", [gi_star, gi_star_hex, lambda c, a: gi_star_permutation(c, a, 99)])
def test_gi_star_refuses_nan_and_negative_counts(verb):
    nan = COUNTS.copy()
    nan[2, 2] = np.nan
    with pytest.raises(EngineInputError, match="^counts: 1 cell is NaN or infinite$"):
        verb(nan, ACTIVE)
    neg = COUNTS.copy()
    neg[0, :2] = -3
    with pytest.raises(EngineInputError, match="^counts: 2 values are negative"):
        verb(neg, ACTIVE)
    with pytest.raises(EngineInputError, match="^active has shape"):
        verb(COUNTS, ACTIVE[:4])
    # a NaN outside the active cells is no input to the statistic, so it is accepted
    inactive = ACTIVE.copy()
    inactive[2, 2] = False
    z, _ = (verb(nan, inactive) if verb in (gi_star, gi_star_hex) else (verb(nan, inactive).z_sim, None))
    assert np.isnan(z[2, 2]) and np.isfinite(z[inactive]).all()


def test_nan_counts_are_never_read_as_no_clustering():
    # before the check a NaN made the standard deviation NaN, and every cell read "z = 0, p = 1"
    c = np.zeros((9, 9))
    c[3:6, 3:6] = 10
    c[0, 0] = np.nan
    with pytest.raises(EngineInputError):
        gi_star(c, np.ones((9, 9), bool))


def test_local_moran_and_change_name_their_parameters():
    with pytest.raises(ValueError, match="y must be finite"):
        local_moran([1.0, np.nan, 3.0, 4.0], np.ones((4, 4)) - np.eye(4), 99)
    with pytest.raises(EngineInputError, match="^after: 1 value is negative"):
        change([1, 2], [3, -4])
    with pytest.raises(EngineInputError, match="t_after .exposure time. must be a finite number above 0"):
        change([1], [2], t_after=-1)
    with pytest.raises(ValueError, match="unknown adjustment"):
        adjust_p(np.array([0.1]), method="fdr")


ENTRY_POINTS = [gi_star, gi_star_hex, gi_star_permutation, local_moran, bivariate_moran, adjust_p,
                change, backtest, repeat_locations, zonal_by_polygons, onto_grid, emerging_hotspots,
                dual_surface, queen_weights]


@pytest.mark.parametrize("verb", ENTRY_POINTS, ids=lambda f: f.__name__)
def test_entry_points_document_parameters_returns_and_a_shipped_data_example(verb):
    doc = verb.__doc__
    for section in ("Parameters\n    ----------", "Returns\n    -------", "Examples\n    --------"):
        assert section in doc, (verb.__name__, section)
    assert "localprofile.demo import demo_" in doc  # the example runs on the shipped data
