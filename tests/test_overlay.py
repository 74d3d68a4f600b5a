"""Priority neighbourhoods: the ranking is invariant to row order, a unit at every indicator's
maximum ranks first, normalisation and the sensitivity line agree with an independent recount
(pandas ranks, numpy), and restricted layers shape force rankings only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import DATA, write_catalog

from localprofile.demo import demo_overlay
from localprofile.engine.overlay import normalise, priority, sensitivity


@pytest.fixture(scope="module")
def leeds_force():
    return demo_overlay("Leeds", "force")


@pytest.fixture(scope="module")
def leeds_partner():
    return demo_overlay("Leeds", "partner")


def recount(ind: pd.DataFrame, kinds: dict, weights: dict) -> pd.Series:
    """Threat x vulnerability by hand: pandas' average ranks to 0-1, weighted means over the
    indicators a unit has, the product, ordered by product, then threat, then code."""
    norm = (ind.rank(method="average") - 1).div(ind.count() - 1)
    norm.loc[:, ind.nunique() <= 1] = 0.0  # a constant indicator separates nobody
    norm = norm.where(ind.notna())
    score = {}
    for kind in ("threat", "vulnerability"):
        cols = [c for c in ind.columns if kinds[c] == kind]
        w = pd.Series({c: weights.get(c, 1.0) for c in cols})
        score[kind] = (norm[cols] * w).sum(axis=1, min_count=1) / norm[cols].notna().mul(w).sum(axis=1)
    t = pd.DataFrame(score)
    t["priority"] = t["threat"] * t["vulnerability"]
    t["code"] = t.index
    return t.sort_values(["priority", "threat", "code"], ascending=[False, False, True]).index.to_series()


def test_normalised_ranks_are_pandas_average_ranks():
    v = np.array([5.0, 1.0, 1.0, np.nan, 9.0, 5.0])
    expected = (pd.Series(v).rank(method="average") - 1) / (np.isfinite(v).sum() - 1)
    assert np.allclose(normalise(v), expected.to_numpy(), equal_nan=True)
    assert np.allclose(normalise(v, "zscore")[[0, 4]], ((v[[0, 4]] - np.nanmean(v)) / np.nanstd(v)))
    assert (normalise(np.full(4, 3.0)) == 0).all()  # a constant indicator separates nobody


def test_the_ranking_matches_a_recount_on_leeds(leeds_force, leeds_partner):
    for o in (leeds_force, leeds_partner):
        order = recount(o.indicators, o.kinds, {})
        assert list(o.table.iloc[:, 0]) == list(order), o.unit
        assert o.table["rank"].tolist() == list(range(1, len(o.table) + 1))


def test_the_ranking_is_invariant_to_row_order(leeds_force):
    ind, kinds = leeds_force.indicators, leeds_force.kinds
    base = priority(ind, kinds).table
    for seed in (1, 2):
        shuffled = ind.sample(frac=1, random_state=seed)
        assert list(shuffled.index) != list(ind.index)
        again = priority(shuffled, kinds).table
        pd.testing.assert_frame_equal(again, base)


def test_a_unit_at_every_maximum_ranks_first(leeds_partner):
    ind, kinds = leeds_partner.indicators, leeds_partner.kinds
    top = ind.max().to_frame("ZZZ_TOP").T  # sorts last by code, so only its scores can lift it
    table = priority(pd.concat([ind, top]), kinds).table
    assert table.index[0] == "ZZZ_TOP" and table.loc["ZZZ_TOP", "rank"] == 1
    assert table.loc["ZZZ_TOP", "bivariate"] == "high threat, high vulnerability"


def test_the_sensitivity_line_matches_a_recount(leeds_partner):
    o = leeds_partner
    first = set(recount(o.indicators, o.kinds, {})[: o.top])
    for name, row in o.sensitivity.iterrows():
        for col, factor in (("halved", 0.5), ("doubled", 2.0)):
            again = set(recount(o.indicators, o.kinds, {name: factor})[: o.top])
            assert row[col] == len(first & again), (name, col)
    assert (o.sensitivity.to_numpy() <= o.top).all()


def test_drivers_are_the_units_strongest_indicators_and_read_as_sentences(leeds_force):
    o = leeds_force
    norm = priority(o.indicators, o.kinds).normalised
    for _, row in o.table.head(5).iterrows():
        code = row.iloc[0]
        assert norm.loc[code, row["driver_1"]] == norm.loc[code].max()
        assert row["why"].endswith(".") and row["why"].count("; ") == 2
        assert all(":" in part for part in row["why"].split("; "))


def test_restricted_layers_shape_the_force_ranking_only(tmp_path, leeds_force, leeds_partner):
    from localprofile.build import build_profile

    restricted = {"OCG members' home addresses", "CSE locations", "Repeat offenders",
                  "Vulnerable persons near hot cells"}
    assert restricted <= set(leeds_force.indicators.columns)
    assert not restricted & set(leeds_partner.indicators.columns)
    assert leeds_force.unit == "LSOA" and leeds_partner.unit == "MSOA"
    # the partner ranking is exactly the one built without any restricted layer at all
    open_only = build_profile(write_catalog(tmp_path), "Leeds").overlay
    pd.testing.assert_frame_equal(open_only.table.drop(columns="geometry"),
                                  leeds_partner.table.drop(columns="geometry"))


def test_bad_overlay_input_names_the_parameter():
    ind = pd.DataFrame({"a": [1, 2]}, index=["x", "y"])
    with pytest.raises(ValueError, match="kinds"):
        priority(ind, {})
    with pytest.raises(ValueError, match="weights"):
        priority(ind, {"a": "threat"}, {"a": -1})
    with pytest.raises(ValueError, match="unique"):
        priority(pd.DataFrame({"a": [1, 2]}, index=["x", "x"]), {"a": "threat"})
    assert sensitivity(ind, {"a": "threat"}, top=1).shape == (1, 2)


def test_threat_beside_vulnerability_follows_the_quadrants(leeds_force):
    """A "high-high" unit has threat above the mean and its neighbours' mean vulnerability above
    the mean (recounted here from the unit polygons with shapely), "low-low" both below."""
    import shapely

    t = leeds_force.table
    t = t[t["threat_vulnerability_lisa"] != "not computed"].reset_index(drop=True)
    geoms = t.geometry.to_numpy()
    zt = t["threat"] - t["threat"].mean()
    v = t["vulnerability"].to_numpy()
    tree = shapely.STRtree(geoms)
    for label, sign in (("high-high", 1), ("low-low", -1)):
        rows = t.index[t["threat_vulnerability_lisa"] == label]
        assert len(rows) >= 5, label
        for i in rows:
            nb = [j for j in tree.query(geoms[i], predicate="touches") if j != i]
            assert sign * zt[i] > 0 and sign * (v[nb].mean() - v.mean()) > 0, (label, i)


def test_deprivation_domains_and_lsoa_tables_are_vulnerability_indicators(tmp_path):
    """IoD domains named in profile.overlay.deprivation and each LSOA table field enter the
    vulnerability score: per LSOA the table's values, per MSOA their sums over its LSOAs, and
    each domain as minus the population-weighted mean rank (recounted here from the CSVs)."""
    from localprofile.build import build_profile

    lookup = pd.read_csv(DATA / "lookups" / "lsoa11_msoa_lad_west_yorkshire.csv", dtype=str)
    leeds = lookup[lookup["Local authority name"] == "Leeds"]
    table = pd.DataFrame({"LSOA11CD": leeds["LSOA Code"], "Referrals": np.arange(len(leeds)) % 7})
    table.to_csv(tmp_path / "referrals.csv", index=False)
    spec = {"adapter": "lsoa_table", "path": str(tmp_path / "referrals.csv"), "vintage": "test", "licence": "l",
            "attribution": "a", "sensitivity": "open", "label": "Safeguarding referrals"}
    cat = write_catalog(tmp_path, layers={"referrals": spec},
                        profile={"overlay": {"deprivation": ["imd", "income"], "unit": "msoa"}})
    o = build_profile(cat, "Leeds").overlay
    assert o.kinds["Referrals"] == "vulnerability" and o.kinds["income deprivation"] == "vulnerability"
    by_msoa = table.assign(msoa=leeds["MSOA Code"].to_numpy()).groupby("msoa")["Referrals"].sum()
    assert (o.indicators["Referrals"] == by_msoa.reindex(o.indicators.index)).all()
    imd = pd.read_csv(DATA / "deprivation" / "imd2019_lsoa11_ranks_deciles_west_yorkshire.csv")
    pop = pd.read_csv(DATA / "census" / "census2011_population_households_lsoa11_west_yorkshire.csv",
                      thousands=",").iloc[:, [6, 9]]
    pop.columns = ["lsoa", "pop"]
    f = leeds[["LSOA Code", "MSOA Code"]].merge(imd, left_on="LSOA Code", right_on="lsoa11_code").merge(
        pop, left_on="LSOA Code", right_on="lsoa")
    expected = -(f["Income_rank"] * f["pop"]).groupby(f["MSOA Code"]).sum() / f["pop"].groupby(f["MSOA Code"]).sum()
    assert np.allclose(o.indicators["income deprivation"], expected.reindex(o.indicators.index))


def test_an_unknown_deprivation_domain_is_one_line(tmp_path):
    from conftest import one_line_error, run_cli

    cat = write_catalog(tmp_path, profile={"overlay": {"deprivation": ["wealth"]}})
    one_line_error(run_cli("validate", "--catalog", str(cat)), "profile.overlay.deprivation")


def _polygon_layer(tmp_path, name, gdf):
    path = tmp_path / f"{name}.geojson"
    gdf.to_file(path)
    return {"adapter": "polygons", "path": str(path), "vintage": "test geometry", "licence": "l",
            "attribution": "a", "sensitivity": "open", "label": name, "options": {"code": "code"}}


def test_a_polygon_layer_that_nests_gives_the_msoa_ranking(tmp_path, leeds_partner):
    """MSOA polygons given as a polygon layer: each LSOA goes whole to its MSOA, so the ranking
    is the MSOA one."""
    import geopandas as gpd

    from localprofile.build import build_profile

    msoas = gpd.GeoDataFrame({"code": leeds_partner.table["msoa_code"]}, geometry=leeds_partner.table.geometry,
                             crs=27700)
    spec = _polygon_layer(tmp_path, "msoa_polygons", msoas)
    o = build_profile(write_catalog(tmp_path, layers={"msoa_polygons": spec},
                                    profile={"overlay": {"unit": "msoa_polygons"}}), "Leeds").overlay
    assert o.unit == "msoa_polygons"
    assert list(o.table["unit_code"]) == list(leeds_partner.table["msoa_code"])
    pd.testing.assert_frame_equal(o.indicators, leeds_partner.indicators, check_names=False)
    assert any("nest" in c.why for c in o.choices if c.what == "priority neighbourhood units")


def test_units_that_do_not_nest_are_apportioned_by_area_share(tmp_path, leeds_force):
    """A 3 km grid of made-up 'neighbourhood policing areas' over Leeds cuts LSOAs: each LSOA's
    counts are shared by the area inside each unit, so counts are conserved and a unit holds
    the area-weighted sum recounted here with shapely."""
    import geopandas as gpd
    import shapely

    from localprofile.build import build_profile

    lsoa = leeds_force.table.set_index("lsoa_code")
    x0, y0, x1, y1 = shapely.union_all(lsoa.geometry.to_numpy()).bounds
    boxes = [shapely.box(x, y, x + 3000, y + 3000) for x in np.arange(x0, x1, 3000) for y in np.arange(y0, y1, 3000)]
    grid = gpd.GeoDataFrame({"code": [f"NPA{i:03d}" for i in range(len(boxes))]}, geometry=boxes, crs=27700)
    spec = _polygon_layer(tmp_path, "npa", grid)
    o = build_profile(write_catalog(tmp_path, layers={"npa": spec}, profile={"overlay": {"unit": "npa"}}),
                      "Leeds").overlay
    choice = next(c for c in o.choices if c.what == "priority neighbourhood units")
    assert "apportioned by population" in choice.why
    crimes = "SOC indicators crimes"
    per_lsoa = leeds_force.indicators[crimes]
    assert o.indicators[crimes].sum() == pytest.approx(per_lsoa.sum())  # nothing lost or doubled
    g = lsoa.geometry
    for code in o.table["unit_code"].iloc[:5]:
        box = grid.set_index("code").geometry[code]
        share = shapely.area(shapely.intersection(g.to_numpy(), box)) / shapely.area(g.to_numpy())
        assert o.indicators.at[code, crimes] == pytest.approx(float((share * per_lsoa.reindex(g.index)).sum()))


def test_an_overlay_unit_that_is_no_polygon_layer_is_one_line(tmp_path):
    from conftest import one_line_error, run_cli

    cat = write_catalog(tmp_path, profile={"overlay": {"unit": "wards"}})
    one_line_error(run_cli("build", "--catalog", str(cat), "--district", "Calderdale", "--out", str(tmp_path / "o")),
                   "profile.overlay.unit", "'wards' is not lsoa, msoa or a polygons layer")


def test_shares_are_shares_and_drivers_lift_the_unit(leeds_force, leeds_partner):
    """Shares of area or crimes never exceed 1 (numerator and denominator share one assignment),
    and a named driver is always above the district's lowest value of that indicator."""
    for o in (leeds_force, leeds_partner):
        shares = [c for c in o.indicators if c.endswith(("at repeat locations", " hot cells")) and "near" not in c]
        assert shares and (o.indicators[shares].max() <= 1 + 1e-12).all()
        low = o.indicators.min()
        for _, row in o.table.iterrows():
            code = row.iloc[0]
            for k in (1, 2, 3):
                d = row[f"driver_{k}"]
                if isinstance(d, str):
                    assert o.indicators.at[code, d] > low[d], (code, d)
        import re

        why = " ".join(o.table["why"])
        assert not re.search(r"(?<![\d,.])0 crimes|(?<![\d,.])1 crimes", why)


@pytest.mark.parametrize("audience", ["force", "partner", "public"])
def test_every_audience_gets_the_ranked_table_map_and_layer(demo_root, audience):
    import pyogrio

    folder = demo_root / audience
    html = (folder / "index.html").read_text(encoding="utf-8")
    section = html[html.index('<section id="priority"'):]
    section = section[:section.index("</section>")]
    assert section.count('<tr><td class="num">') == 10  # the top 10
    assert "How firm the top 10 is" in section and "Threat &rarr; / vulnerability &uarr;" in section
    layer = pyogrio.read_dataframe(folder / "results.gpkg", layer="priority_neighbourhoods")
    assert sorted(layer["rank"]) == list(range(1, len(layer) + 1))
    assert len(layer) == (482 if audience == "force" else 107)
