"""A national-layout ONS Postcode Directory through the real adapter, at 100,000 rows (issue 11).

The rows are SYNTHETIC, written by ``benchmarks/bench_postcodes.py`` (which times the same
read at 2.6 million rows): the shipped West Yorkshire lookup (88,877 postcodes) in the ONSPD's 53
columns, and again with its postcodes made unique, coordinates from the shipped Code-Point Open. Each layout (quoted
as ONS publishes the ONSPD, and plain) is read by the adapter as it runs (the file's ASCII bytes,
by Arrow's reader) and by the route before it (the file decoded to text): every row is read, the
record account balances, and the two frames are the same. Expected figures come from the CSV
itself, read by Python's csv module.
"""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import io
import zipfile

import numpy as np
import pandas as pd
import pytest

from conftest import DATA, ROOT

import localprofile.layers.ons_postcode_directory as adapter
import localprofile.validate as validate
from localprofile.catalog import load_catalog

N = 100_000  # the shipped lookup once, and 11,123 of its rows again with new postcodes


def _bench():
    spec = importlib.util.spec_from_file_location("bench_postcodes", ROOT / "benchmarks" / "bench_postcodes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _bench()


@pytest.fixture(scope="module", params=["quoted", "plain"])
def directory(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"onspd_{request.param}")
    path = folder / "ONSPD_SYNTHETIC.csv"
    assert bench.write_onspd(path, N, quoted=request.param == "quoted") == N
    cat = load_catalog(bench.write_catalog(folder, path))
    return request.param, path, cat.paths("ons_postcodes"), cat.layers["ons_postcodes"]


def _load(paths, spec, route):
    with bench.old_route() if route == "old" else _no_decoding():
        return adapter.load(paths, spec)


@contextlib.contextmanager
def _no_decoding():
    """The adapter as it runs, with decoding made an error: an ASCII file is never decoded."""
    saved = validate._decode
    validate._decode = lambda raw, encoding: pytest.fail("an ASCII file was decoded")
    try:
        yield
    finally:
        validate._decode = saved


def test_the_directory_written_is_the_onspd_layout_with_unique_postcodes(directory):
    layout, path, _, _ = directory
    raw = path.read_bytes()
    assert raw.isascii() and raw.endswith(b"\n")
    rows = list(csv.reader(io.StringIO(raw.decode("ascii"))))
    assert rows[0] == bench.ONSPD_COLUMNS and len(rows[0]) == 53 and len(rows) == N + 1
    assert all(len(r) == 53 for r in rows)
    assert len({r[2] for r in rows[1:]}) == N  # pcds unique
    assert (b'"BD1 1AA","BD1  1AA","BD1 1AA",' in raw) == (layout == "quoted")


def test_the_adapter_reads_every_row_as_the_text_route_did(directory):
    layout, path, paths, spec = directory
    new, old = _load(paths, spec, "new"), _load(paths, spec, "old")
    acc = new.account
    assert acc.read == N and acc.read == acc.used + acc.n_dropped
    assert acc.to_dict() == old.account.to_dict()
    pd.testing.assert_frame_equal(new.frame, old.frame, check_exact=True)

    # the figures, recounted from the CSV itself
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="ascii"))))
    assert acc.used == len({r["pcds"] for r in rows}) == N
    assert int(new.frame["terminated"].sum()) == sum(r["doterm"] != "" for r in rows)
    assert acc.notes["no coordinates in this file (LSOA and termination only)"] == sum(r["oseast1m"] == "" for r in rows)
    assert new.frame["lsoa_code"].tolist() == [r["lsoa11"] for r in rows]


def test_the_coordinates_are_code_point_open_s(directory):
    """The eastings and northings read are the shipped Code-Point Open's: for the real postcodes
    (the lookup's, once), and for their copies with new postcode areas."""
    _, _, paths, spec = directory
    data = _load(paths, spec, "new")
    frame = data.frame
    with zipfile.ZipFile(DATA / "postcodes" / "codepoint_open_2025_west_yorkshire.zip") as zf:
        cp = pd.read_csv(io.BytesIO(zf.read(zf.namelist()[0])), dtype={"Postcode": str})
    cp = cp.drop_duplicates("Postcode").set_index("Postcode")
    real = frame.iloc[:88_877]
    known = real["postcode"].isin(cp.index).to_numpy()
    assert 60_000 < known.sum() and np.isnan(real.loc[~known, "easting"]).all()
    expected = cp.loc[real.loc[known, "postcode"], ["Eastings", "Northings"]].to_numpy(float)
    np.testing.assert_array_equal(real.loc[known, ["easting", "northing"]].to_numpy(), expected)
    copies = frame.iloc[88_877:]
    assert not copies["postcode"].isin(real["postcode"]).any()
    np.testing.assert_array_equal(copies[["easting", "northing"]].to_numpy(),
                                  real[["easting", "northing"]].to_numpy()[: len(copies)])
    assert data.account.notes["no coordinates in this file (LSOA and termination only)"] == (
        int((~known).sum()) + int((~known[: len(copies)]).sum()))


def test_a_directory_cut_off_mid_row_drops_its_last_row_as_the_text_route_did(directory, tmp_path):
    layout, path, _, spec = directory
    raw = path.read_bytes()
    cut = tmp_path / "ONSPD_CUT.csv"
    cut.write_bytes(raw[: raw.rfind(b"\n", 0, len(raw) - 1) + 40])  # inside the last row's pcds
    new, old = _load([cut], spec, "new"), _load([cut], spec, "old")
    assert new.account.read == N and new.account.dropped == {f"truncated row: {cut} ends mid-row (a download cut off?)": 1}
    assert new.account.to_dict() == old.account.to_dict()
    pd.testing.assert_frame_equal(new.frame, old.frame, check_exact=True)
