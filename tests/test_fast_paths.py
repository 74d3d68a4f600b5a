"""The faster routes give what the slower ones they replace gave (issue 11, item 5).

Each test compares a fast path with the route it stands in for, run here as the reference:
geopandas' ``__geo_interface__`` through a JSON round trip (what folium does with a
GeoDataFrame), branca's own Element, pandas's C parser, the permutation engine with its memo
of draws switched off, and the overlay's full priority table for each reweighting.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import tracemalloc
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from branca.element import Element

from conftest import DATA

import localprofile.engine.permutation as perm
import localprofile.validate as validate
from localprofile.engine.lisa import local_moran, queen_weights
from localprofile.engine.overlay import priority, sensitivity
from localprofile.render.maps import _TextElement, feature_collection


def _reference_collection(gdf: gpd.GeoDataFrame) -> dict:
    return json.loads(json.dumps(gdf.__geo_interface__))


def test_feature_collection_is_folium_s_dict_for_every_kind_of_column_and_geometry():
    geoms = np.array([
        shapely.Point(1.1, 2.2), None, shapely.box(0, 0, 1, 1),
        shapely.Polygon([(0, 0), (5, 0), (5, 5), (0, 5)], [[(1, 1), (2, 1), (2, 2)], [(3, 3), (4, 3), (4, 4)]]),
        shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)]),
        shapely.LineString([(0, 0), (1, 1)]), shapely.MultiLineString([[(0, 0), (1, 1)], [(2, 2), (3, 3), (4, 5)]]),
        shapely.MultiPoint([(0, 0), (1, 2)]), shapely.Polygon(),
        shapely.GeometryCollection([shapely.Point(0, 0)]), shapely.LinearRing([(0, 0), (1, 0), (1, 1)]),
        shapely.Point(1, 2, 3),
    ], dtype=object)
    n = len(geoms)
    gdf = gpd.GeoDataFrame({
        "text": pd.array(["x", None, *"zwvutsrqpo"], dtype="str"),
        "int": np.arange(n),
        "float": [1.5, np.nan, 2, np.inf, 3, 4, 5, 6, 7, 8, 9, -0.0],
        "flag": [True, False] * (n // 2),
        "nullable": pd.array([1, None, *range(3, n + 1)], dtype="Int64"),
        "escaped": ["&lt;b&gt;"] * n,
    }, geometry=geoms, crs=4326, index=range(5, 5 + n))
    assert feature_collection(gdf) == _reference_collection(gdf)
    # and the JSON folium writes from it is the same text
    assert json.dumps(feature_collection(gdf), sort_keys=True) == json.dumps(_reference_collection(gdf), sort_keys=True)


def test_feature_collection_is_folium_s_dict_for_the_lsoas_of_west_yorkshire():
    lsoa = gpd.read_file(DATA / "boundaries" / "lsoa11_bsc_west_yorkshire.geojson")
    assert feature_collection(lsoa) == _reference_collection(lsoa)


@pytest.mark.parametrize("text", [
    "var a = {\"b\": [1, 2]};\n", "no newline", "two\n\n", "", "  spaces  ",
    "{{ 1 + 1 }}", "{% if true %}yes{% endif %}", "{# comment #}x", "a\r\nb",
])
def test_text_element_renders_as_branca_s_element(text):
    assert _TextElement(text).render() == Element(text).render()


def test_lisa_with_the_memo_of_draws_is_lisa_without_it(monkeypatch):
    lsoa = gpd.read_file(DATA / "boundaries" / "lsoa11_bsc_west_yorkshire.geojson").head(300)
    W = queen_weights(lsoa.geometry.to_numpy())
    rng = np.random.default_rng(3)
    ys = [rng.gamma(2.0, 3.0, len(lsoa)) for _ in range(3)]
    perm._MEMO.clear()
    fast = [local_moran(y, W, 999, seed=7) for y in ys]  # the 2nd and 3rd reuse the 1st's draws
    assert len(perm._MEMO) == 1
    monkeypatch.setattr(perm, "_MEMO_BYTES", 0)  # nothing kept: every call draws
    perm._MEMO.clear()
    for y, f in zip(ys, fast):
        slow = local_moran(y, W, 999, seed=7)
        for field in ("Is", "z", "z_sim", "p_sim", "p_two_sided", "p_adjusted"):
            np.testing.assert_array_equal(getattr(f, field), getattr(slow, field))
        assert (f.cluster == slow.cluster).all()
    assert not perm._MEMO


def test_a_generator_continues_as_if_it_had_drawn_again():
    pool, k, excl = np.arange(40.0), np.full(40, 4), np.arange(40)
    perm._MEMO.clear()
    after = []
    for scale in (1.0, 2.0):  # the second call finds the first's draws
        rng = np.random.default_rng(11)
        perm.conditional_null(pool * scale, k, excl, pool, 499, rng)
        after.append(rng.random(3))
    np.testing.assert_array_equal(after[0], after[1])
    # another generator type, whose state holds an array
    states = [np.random.Generator(np.random.MT19937(s)) for s in (1, 2)]
    a, b = (perm.conditional_null(pool, k, excl, pool, 99, g) for g in states)
    assert not all(np.array_equal(x, y) for x, y in zip(a, b))  # different seeds, different draws


def _read_both(raw: bytes, **kw):
    """read_csv with pandas's parser only, then as it runs (the Arrow route where it applies)."""
    fast = validate._parse_plain
    used = []
    out = []
    for route in ("pandas", "as it runs"):
        validate._parse_plain = (lambda *a: None) if route == "pandas" else (lambda *a: used.append(fast(*a)) or used[-1])
        try:
            out.append(validate.read_csv(io.BytesIO(raw), file="f.csv", **kw))
        except Exception as exc:  # noqa: BLE001 (the error itself is compared)
            out.append(exc)
        finally:
            validate._parse_plain = fast
    return out[0], out[1], bool(used) and used[-1] is not None


def _same(ref, new):
    if isinstance(ref, Exception) or isinstance(new, Exception):
        assert type(ref) is type(new) and str(ref) == str(new)
        return
    pd.testing.assert_frame_equal(ref, new, check_exact=True)
    assert ref.columns.dtype == new.columns.dtype and ref.attrs == new.attrs


@pytest.mark.parametrize("raw", [
    b"a,b\n1,2\n", b"a,b\n1,2", b"a,b\n1,\n", b"a,b\n1\n", b"a,b\n1,2,3\n", b"a,b\n\n1,2\n", b"a,b\n1,2\n\n",
    b"a, b\n1,2\n", b"a,a\n1,2\n", b"a,\n1,2\n", b"a,b\r\n 1 , 2 \r\n   ,x\r\n", b"a,b\r1,2\r3,4", b"a,b\n",
    b"\xef\xbb\xbfa,b\n1,2\n", b"x,y\n\xe9,2\n", b'a,b\n1,"2, 3"\n', b"a,b\n1,2\n3", b"a,b,c\n1,2,3\n4,5\n",
    b" a,b\n1,2\n", b"a,b \n1,2\n", b"a,b\n1,2\x00\n", b"Month,Crime type\n2017-07,Drugs\n2017-07,\n",
])
@pytest.mark.parametrize("header", [0, None])
def test_arrow_csv_route_reads_what_pandas_reads(raw, header):
    ref, new, _ = _read_both(raw, header=header)
    _same(ref, new)


def test_arrow_csv_route_reads_the_shipped_files_as_pandas_does():
    tables = {p.name: p.read_bytes() for p in DATA.rglob("*.csv")}
    for z in DATA.rglob("*.zip"):
        with zipfile.ZipFile(z) as zf:
            tables.update({n: zf.read(n) for n in zf.namelist() if n.endswith(".csv")})
    arrow = 0
    for name, raw in tables.items():
        ref, new, fast = _read_both(raw, header=None if "codepoint" in name else 0)
        _same(ref, new)
        arrow += fast
    assert arrow >= 8  # the large police.uk and postcode files among them


def test_arrow_csv_route_keeps_only_the_wanted_columns_as_pandas_does():
    raw = b"PCDS,doterm,lsoa11cd,other\nLS1 1AA,,E01011698,x\nLS1 1AB,201901,E01011699,y\n"
    ref, new, fast = _read_both(raw, usecols=lambda c: c.lower() in ("pcds", "lsoa11cd"))
    assert fast
    _same(ref, new)


def test_sensitivity_counts_what_the_full_priority_tables_give():
    rng = np.random.default_rng(2)
    ind = pd.DataFrame({"crimes": rng.poisson(5, 60), "drugs": rng.poisson(1, 60), "imd": rng.random(60)},
                       index=[f"E0{i:07d}" for i in rng.permutation(60)])
    kinds = {"crimes": "threat", "drugs": "threat", "imd": "vulnerability"}
    for method in ("rank", "zscore"):
        base = priority(ind, kinds, method=method)
        first = set(base.table.index[:10])
        expected = {c: [len(first & set(priority(ind, kinds, {**base.weights, c: base.weights[c] * f},
                                                 method).table.index[:10])) for f in (0.5, 2.0)]
                    for c in ind.columns}
        got = sensitivity(ind, kinds, method=method)
        assert got.to_dict(orient="index") == {c: {"halved": h, "doubled": d} for c, (h, d) in expected.items()}


def test_standard_postcodes_normalise_as_the_full_route_does():
    from localprofile.geocode import _POSTCODE, normalise_postcode

    with zipfile.ZipFile(DATA / "postcodes" / "ons_postcode_oa_lsoa_msoa_lad_may22_west_yorkshire.zip") as zf:
        name = next(n for n in zf.namelist() if n.endswith(".csv"))
        pcds = pd.read_csv(io.BytesIO(zf.read(name)), dtype=str, usecols=["pcds"])["pcds"]
    for values in (pcds, pcds.head(50).str.lower(), pd.Series(["LS1 1UR", None]), pd.Series([], dtype=str)):
        t = values.astype("string").str.upper().str.replace(r"[^A-Z0-9]", "", regex=True)
        full = (t.str[:-3] + " " + t.str[-3:]).where(t.str.fullmatch(_POSTCODE).fillna(False))
        pd.testing.assert_series_equal(normalise_postcode(values), full)


def _bits(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a).tobytes()


@pytest.mark.parametrize("theme", ["all_crime", "drugs", "anti_social_behaviour"])
def test_gi_star_lookup_of_lag_and_neighbour_count_is_the_general_formula_bit_for_bit(theme, monkeypatch):
    """Whole-number counts take the (lag, neighbour count) table; with the table switched off the
    general formula runs: z and p must have the same bits, NaN outside the active cells included."""
    from localprofile.demo import demo_grid
    import localprofile.engine.gistar as gistar

    g = demo_grid("Leeds", theme=theme)
    taken = []
    real = gistar._square_grid_z_p
    monkeypatch.setattr(gistar, "_square_grid_z_p", lambda *a: taken.append(1) or real(*a))
    z_t, p_t = gistar.gi_star(g.counts, g.active)
    assert taken, "the table path was not taken for whole-number counts"
    monkeypatch.setattr(gistar, "_TABLE_PER_CELL", 0)  # no table fits: the general formula
    z_g, p_g = gistar.gi_star(g.counts, g.active)
    assert _bits(z_t) == _bits(z_g) and _bits(p_t) == _bits(p_g)
    assert np.isnan(z_t[~g.active]).all() and np.isfinite(z_t[g.active]).all()


def test_gi_star_of_fractional_counts_takes_the_general_formula():
    """Harm-weighted (fractional) counts cannot be looked up by whole lag: the general formula,
    equal to the whole-number route after scaling (z is scale-free)."""
    from localprofile.engine.gistar import gi_star

    rng = np.random.default_rng(3)
    counts = rng.poisson(2.0, (40, 50)).astype(float)
    active = rng.random((40, 50)) < 0.8
    z1, p1 = gi_star(counts, active)
    z2, p2 = gi_star(counts * 0.37, active)
    assert np.allclose(z1, z2, equal_nan=True, atol=1e-12) and np.allclose(p1, p2, equal_nan=True, atol=1e-12)
    assert not np.array_equal(counts * 0.37, np.round(counts * 0.37))


# --- ASCII files read as their bytes (issue 11: a national ONS postcode directory under 4 GB) ----
# The reference is the route before: the file decoded to text and read by pandas's parser.


@contextlib.contextmanager
def _text_route():
    """read_csv as it read before: every file decoded to text, pandas's parser on the text."""
    saved = validate._bytes_or_text, validate._parse_plain
    validate._bytes_or_text, validate._parse_plain = validate._decode, (lambda *a: None)
    try:
        yield
    finally:
        validate._bytes_or_text, validate._parse_plain = saved


def _routes(raw: bytes, **kw):
    """read_csv on ``raw`` as it runs, and by the text route; each a frame or the error raised.
    Also what the Arrow reader was handed as it ran: (type of the data, whether it read it)."""
    fast, handed = validate._parse_plain, []

    def spy(data, *args):
        got = fast(data, *args)
        handed.append((type(data), got is not None))
        return got

    out = []
    for route in ("as it runs", "text"):
        validate._parse_plain = spy
        try:
            with _text_route() if route == "text" else contextlib.nullcontext():
                out.append(validate.read_csv(io.BytesIO(raw), file="f.csv", **kw))
        except Exception as exc:  # noqa: BLE001 (the error itself is compared)
            out.append(exc)
        finally:
            validate._parse_plain = fast
        if route == "as it runs":
            ran = list(handed)
    return out[0], out[1], ran


def _shipped_tables() -> dict[str, bytes]:
    tables = {p.name: p.read_bytes() for p in DATA.rglob("*.csv")}
    tables.update({p.name: gzip.decompress(p.read_bytes()) for p in DATA.rglob("*.csv.gz")})
    for z in DATA.rglob("*.zip"):
        with zipfile.ZipFile(z) as zf:
            tables.update({f"{z.name}:{n}": zf.read(n) for n in zf.namelist() if n.endswith(".csv")})
    return tables


def _some_columns(name):
    return str(name).lower() in {"a", "c", "pcds", "doterm", "lsoa11cd", "urn", "month", "lsoa code"}


def test_ascii_route_reads_every_shipped_csv_as_pandas_on_its_text_did():
    """Every shipped CSV (police.uk and lookups zipped, the census table with quoted numbers,
    EduBase with quoted names, the gzipped census): the same frame, dtypes and attrs, all
    columns and a few; each (ASCII) file handed to the Arrow reader as bytes, never decoded, and
    read by it unless its header repeats a name (the census table's "Persons": pandas renames)."""
    tables = _shipped_tables()
    assert len(tables) >= 14 and all(raw.isascii() for raw in tables.values())
    by_arrow = set()
    for name, raw in tables.items():
        header = None if "codepoint" in name else 0
        for usecols in (None, _some_columns) if header == 0 else (None,):
            ref, new, ran = _routes(raw, header=header, usecols=usecols)
            _same(ref, new)
            assert ran and all(kind is bytes for kind, _ in ran), name
            if usecols is None and ran[-1][1]:
                by_arrow.add(name)
    assert set(tables) - by_arrow == {"census2011_population_households_lsoa11_west_yorkshire.csv"}
    assert "edubase_2017_west_yorkshire_extract.csv" in by_arrow  # quoted names, by Arrow


@pytest.mark.parametrize("raw", [
    # BOM, NUL, Windows-1252 and UTF-8 names: the text route (decoded), as before
    b"\xef\xbb\xbfa,b\n1,2\n", b'\xef\xbb\xbf"a","b"\n"1","2"\n', b"a,b\n1,2\x00\n", b'a,b\n"1\x00",2\n',
    b"URN,EstablishmentName\n1,Caf\xe9 School\n2,St Mary's\n", b'URN,EstablishmentName\n1,"Caf\xe9, School"\n',
    "URN,EstablishmentName\n1,Ysgol Gymraeg Bro Dinefwr â\n".encode(),
    # cut off: mid-row, inside a quoted field, after a whole quoted field
    b"a,b\n1,2\n3", b'a,b\n1,"x"\n2,"On or near Br', b'a,b\n"1","x"\n"2"', b'a,b\n1,"x"\n2,"y"',
    b'"a","b"\n"1","2"\n"3","On or', b'x,y\n1,2\n3,"ab', b'a,b\n"1', b'a,b\n1,"x\n2,"y', b'a,b\r\n1,2\r\n3,"ab',
    b'a,b\n1,2\n3, "ab', b'a,b\n1,2\n3,"a""b', b'a,b\n1,2\n3,"a"b"c',
    # blank lines, blank files
    b"a,b\n1,2\n\n3,4\n", b'"a","b"\n"1","2"\n\n"3","4"\n', b"a,b\n\n\n", b"\n\na,b\n1,2\n", b"  \n\t\n",
    b"\x1c\x1d\n", b"", b'""\n',
    # quotes: whole fields, commas, doubled quotes, text after a closing quote, quotes inside a
    # field, a space before a quote, line breaks inside quotes, a file ending inside quotes
    b'"a","b"\n"1","2"\n', b'a,b\n1,"x, y"\n', b'a,b\n1,"say ""hi"""\n', b'a,b\n1,"ab"cd\n', b'a,b\n1,ab"c\n',
    b'a,b\n1,"x"y"z"\n', b'a,b\n1, "x"\n', b'a,b\n1, "x,y"\n', b'a,b,c\n1, "x,"y,z"\n', b'a,b\n1,"x\ny"\n2,z\n',
    b'a,b\n1,"x\n', b'a,b\n1,"x\ry"\n', b'a,b\n1,""\n', b'"a","b"\r\n"1","2"\r\n', b'"a","b"\r"1","2"\r',
    b'"a,b",c\n1,2,3\n', b'"a""x",b\n1,2\n', b'" a",b\n1,2\n', b'"a",a\n1,2\n', b'"",b\n1,2\n', b'"a" ,b\n1,2\n',
    # rows of another length (pandas's errors, with their line numbers)
    b'a,b\n"1","2","3"\n', b'a,b\n"1"\n', b'a,b\n1,2\n"3",4,5\n',
    # the ONS directories' layout
    b'pcd,pcds,doterm,lat\n"LS1 1AA","LS1 1AA","",53.8\n"LS1 1AB","LS1 1AB","201901",99.999999\n',
])
@pytest.mark.parametrize("header,usecols", [(0, None), (None, None), (0, _some_columns)])  # as callers pass them
def test_ascii_route_reads_crafted_files_as_pandas_on_their_text_did(raw, header, usecols):
    ref, new, _ = _routes(raw, header=header, usecols=usecols)
    _same(ref, new)


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1", "utf-8", "ascii", "utf-16", "cp037", "no-such-codec"])
def test_ascii_route_honours_a_given_encoding_as_the_text_route_did(encoding):
    for raw in (b"a,b\n1,2\n", b'"a","b"\n"1","x y"\n', b"URN,Name\n1,Caf\xe9\n"):
        ref, new, ran = _routes(raw, encoding=encoding)
        _same(ref, new)
        if raw.isascii() and encoding in ("cp1252", "latin-1", "utf-8", "ascii"):
            assert [kind for kind, _ in ran] == [bytes]  # ASCII read as ASCII: not decoded


def test_quoted_directory_is_read_by_arrow_and_pandas_alike():
    """The ONS directories quote every code: Arrow reads the quoted bytes, and gets what pandas
    got from the text, cut off inside quotes too; a space before a quote, or a line break inside
    quotes, is pandas's."""
    with zipfile.ZipFile(DATA / "postcodes" / "ons_postcode_oa_lsoa_msoa_lad_may22_west_yorkshire.zip") as zf:
        plain = zf.read(zf.namelist()[0]).decode("ascii").splitlines()
    rows = ['"' + line.replace(",", '","') + '"' for line in plain[1:]]
    raw = "\n".join([plain[0], *rows, ""]).encode("ascii")
    keep = lambda c: c in ("pcds", "doterm", "lsoa11cd")  # noqa: E731
    ref, new, ran = _routes(raw, usecols=keep)
    _same(ref, new)
    assert ran == [(bytes, True)] and len(new) == 88_877 and new["doterm"].notna().sum() == 88_877 - 63_494
    cut = raw[: raw.rfind(b',"', 0, len(raw) - 30) + 4]  # a download cut off inside a quoted field
    ref, new, ran = _routes(cut, usecols=keep)
    _same(ref, new)
    assert ran == [(bytes, True)] and new.attrs["truncated"] and new.iloc[-1].isna().all()  # its whole rows, once
    for bad in (raw.replace(b'","E01', b'", "E01', 1), raw.replace(b'"LS1 1AA"', b'"LS1\n1AA"', 1)):
        ref, new, ran = _routes(bad, usecols=keep)
        _same(ref, new)
        assert ran == [(bytes, False)]  # pandas's reading


def test_ascii_route_holds_no_decoded_copy_of_the_file():
    """Python's own allocations while reading a 25 MB ASCII CSV (quoted, as the directories are):
    the text route holds the decoded text (at least the file's size), the bytes route a small
    part of it (Arrow's buffers are not Python's)."""
    with zipfile.ZipFile(DATA / "postcodes" / "ons_postcode_oa_lsoa_msoa_lad_may22_west_yorkshire.zip") as zf:
        lines = zf.read(zf.namelist()[0]).decode("ascii").splitlines()
    rows = ['"' + x.replace(",", '","') + '"' for x in lines[1:]]
    raw = "\n".join([lines[0], *rows, *rows, ""]).encode("ascii")
    keep = lambda c: c in ("pcds", "doterm", "lsoa11cd")  # noqa: E731
    peaks = {}
    for route in ("bytes", "text"):
        with _text_route() if route == "text" else contextlib.nullcontext():
            tracemalloc.start()
            validate.read_csv(io.BytesIO(raw), file="f.csv", usecols=keep)
            peaks[route] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    assert peaks["text"] >= len(raw) and peaks["bytes"] < len(raw) / 3, peaks


def _arrow_text(values) -> pd.Series:
    return pd.Series(values, dtype=pd.StringDtype("pyarrow"))


def test_numbers_are_pandas_to_numeric_on_600000_decimals_to_the_bit():
    """Arrow's cast of plain decimals gives pandas' doubles, sign of zero included: integers up
    to 15 digits, 1 to 9 decimals, Python's shortest 17-digit reprs, coordinates to 6 places."""
    rng = np.random.default_rng(1)
    ints, decs, places = (rng.integers(0, 10**12, 300_000).tolist(), rng.integers(0, 10**9, 300_000).tolist(),
                          rng.integers(1, 10, 300_000).tolist())
    text = [f"{'-' if i % 3 == 0 else ''}{a % 10 ** (1 + i % 12)}.{str(d).zfill(9)[:k]}"
            for i, (a, d, k) in enumerate(zip(ints, decs, places))]
    text += [str(x) for x in rng.integers(-10**15, 10**15, 100_000).tolist()]
    text += [repr(x) for x in (rng.random(100_000) * 1000).tolist()]
    text += [f"{x:.6f}" for x in rng.uniform(-3, 1, 100_000).tolist()]
    text += ["-0.0", "00012", "0.1", "123456789012345678901234567890", "12.5000000000000000001"]
    s = _arrow_text(text)
    ours = validate.numbers(s)
    ref = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
    assert ours.dtype == np.float64 and np.array_equal(ours.view(np.int64), ref.view(np.int64))


@pytest.mark.parametrize("cells", [
    ["1", None, "2.5"],                       # empty cells: NaN, the rest by Arrow
    ["1", "1e3", "-2"],                       # an exponent: pandas' route
    ["1,563", "7"],                           # a thousands separator: not a number to either
    [" 12", "12 ", "+3"],                     # spaces and a plus sign: pandas' route
    ["inf", "nan", "-Infinity", "0x10"],      # words and hex
    ["12 m", "N/A", ""],
    ["-0"], ["-0", "1"], ["-0", "1.5"], ["-0.0", "2"],  # pandas' sign of zero depends on the rest
    [None, None],
    [],
])
def test_numbers_outside_plain_decimals_are_what_pandas_gives(cells):
    def same(a, b):
        return np.array_equal(a, b, equal_nan=True) and np.array_equal(np.signbit(a), np.signbit(b))

    s = _arrow_text(cells)
    assert same(validate.numbers(s), pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan))
    obj = pd.Series(cells, dtype=object)  # text not held by Arrow: pandas all the way
    assert same(validate.numbers(obj), pd.to_numeric(obj, errors="coerce").to_numpy(dtype=float))


def test_numbers_on_the_shipped_coordinates_are_pandas_to_numeric():
    """Every longitude and latitude of the shipped police.uk months, as the adapter reads them."""
    from localprofile.catalog import load_catalog
    from localprofile.demo import demo_catalog_path
    from localprofile.layers._police_uk import read_police_uk_tables
    from localprofile.layers.police_uk_street import COLUMNS, HINT, MEMBER_PATTERN

    cat = load_catalog(demo_catalog_path())
    df, _ = read_police_uk_tables(cat.paths("crimes"), cat.layers["crimes"], MEMBER_PATTERN, COLUMNS, HINT)
    for col in ("longitude", "latitude"):
        ref = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
        assert np.array_equal(validate.numbers(df[col]), ref, equal_nan=True)
    assert len(df) > 50_000


def _template_names() -> list[str]:
    from importlib import resources

    root = resources.files("localprofile.templates")
    return ["profile.html.j2", "front_page.html.j2", "briefing.html.j2"] + [
        f"sections/{p.name}" for p in root.joinpath("sections").iterdir() if p.name.endswith(".j2")]


def test_templates_from_the_bytecode_cache_are_the_compiled_templates(tmp_path):
    """Each template stored by the cache and read back is the code compiling its text gives."""
    import marshal

    from localprofile.render import html as H

    cache = H._BytecodeCache(str(tmp_path))
    env = H._ENV.overlay(bytecode_cache=cache)
    for name in _template_names():
        env.get_template(name)  # compiled, then stored
        source = H._template(name)
        bucket = cache.get_bucket(env, name, None, source)
        assert bucket.code is not None, name
        assert marshal.dumps(bucket.code) == marshal.dumps(env.compile(source, name, None)), name
    assert len(list(tmp_path.iterdir())) == len(_template_names())


def test_a_damaged_or_unwritable_bytecode_cache_is_no_error(tmp_path):
    """A cut-off entry is compiled again and stored whole; a folder that cannot be written to
    only means no cache."""
    import marshal

    from localprofile.render import html as H

    name, source = "profile.html.j2", H._template("profile.html.j2")
    H._ENV.overlay(bytecode_cache=H._BytecodeCache(str(tmp_path)), cache_size=0).get_template(name)
    (entry,) = tmp_path.iterdir()
    for cut in (40, 20, 5):  # inside the code, inside the checksum, inside the magic
        entry.write_bytes(entry.read_bytes()[:cut])
        env = H._ENV.overlay(bytecode_cache=H._BytecodeCache(str(tmp_path)), cache_size=0)
        assert env.get_template(name).render is not None
        bucket = H._BytecodeCache(str(tmp_path)).get_bucket(env, name, None, source)
        assert marshal.dumps(bucket.code) == marshal.dumps(env.compile(source, name, None))
    nowhere = H._ENV.overlay(bytecode_cache=H._BytecodeCache(str(tmp_path / "missing")), cache_size=0)
    assert nowhere.get_template("briefing.html.j2").render is not None
    assert not (tmp_path / "missing").exists()
