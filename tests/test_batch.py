"""Issue 11: ``build-all`` builds every district of a force on Dask, with the same bytes as serial
builds; a broken district does not sink the batch; a re-run rebuilds only what failed or changed;
parsed inputs are cached so a new month is the only one parsed again."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
from conftest import CATALOG, DATA, lookup_rows, one_line_error, run_cli, write_catalog

from localprofile import cache
from localprofile.catalog import load_catalog
from localprofile.loading import LoadContext

# one xdist worker runs this module, so the five-district batch is built once (dev.py: loadgroup)
pytestmark = pytest.mark.xdist_group("batch")

FORCE = "West Yorkshire"
DISTRICTS = sorted({r["Local authority name"] for r in lookup_rows()})  # an independent recount


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def force_batch(tmp_path_factory):
    """``build-all --force "West Yorkshire"`` on a two-worker Dask LocalCluster, public audience."""
    tmp = tmp_path_factory.mktemp("batch")
    root = tmp / "out"
    res = run_cli("build-all", "--catalog", str(CATALOG), "--force", FORCE, "--audience", "public",
                  "--out", str(root), "--workers", "2", "--cache", str(tmp / "cache"))
    return root, res, tmp


def test_build_all_writes_every_district_and_the_front_page(force_batch):
    root, res, _ = force_batch
    assert res.returncode == 0, res.stderr
    assert len(DISTRICTS) == 5
    folders = {d: root / d.lower() / "public" for d in DISTRICTS}
    printed = res.stdout.split()
    assert sorted(printed[:-1]) == sorted(str((f / "index.html").resolve()) for f in folders.values())
    assert printed[-1] == str((root / "index.html").resolve())
    page = (root / "index.html").read_text(encoding="utf-8")
    for d, f in folders.items():
        assert {"index.html", "summary.json", "results.gpkg"} <= set(files(f)), d
        assert f'href="{d.lower()}/public/index.html"' in page
    assert 'id="failed"' not in page
    manifest = json.loads((root / "build-all.json").read_text(encoding="utf-8"))
    assert sorted(m["name"] for m in manifest["districts"]) == DISTRICTS
    assert {m["status"] for m in manifest["districts"]} == {"built"}


def test_a_district_is_byte_identical_to_its_serial_build(force_batch):
    root, res, tmp = force_batch
    assert res.returncode == 0, res.stderr
    alone = tmp / "alone"
    one = run_cli("build", "--catalog", str(CATALOG), "--district", "Calderdale", "--audience", "public",
                  "--out", str(alone), "-q")
    assert one.returncode == 0, one.stderr
    ours, theirs = files(root / "calderdale" / "public"), files(alone)
    assert sorted(ours) == sorted(theirs) and len(ours) > 10
    assert [n for n in ours if ours[n] != theirs[n]] == []


def test_an_existing_dask_cluster_is_used_by_its_address(force_batch, tmp_path):
    from dask.distributed import LocalCluster

    root, res, _ = force_batch
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster:
        got = run_cli("build-all", "--catalog", str(CATALOG), "--districts", "E08000033", "--audience", "public",
                      "--out", str(tmp_path), "--scheduler", cluster.scheduler_address, "--no-cache")
        assert got.returncode == 0, got.stderr
        prefixes = cluster.scheduler.task_prefixes  # the build ran there, not here, as one task:
        assert prefixes["localprofile-build"].all_durations["compute"] > 1  # the profile does not travel
        assert "localprofile-profile" not in prefixes and "localprofile-write" not in prefixes
    assert files(tmp_path / "calderdale" / "public") == files(root / "calderdale" / "public")


def test_on_this_machine_a_district_is_two_tasks_and_its_profile_is_never_spilled(tmp_path):
    import dask

    from localprofile.batch import DaskRun, Options, plan_batch

    task = plan_batch(load_catalog(CATALOG), districts=["Calderdale"], audience="public")[0]
    run = DaskRun(None, 1, str(CATALOG), "public", None)
    try:
        got = run.run(str(CATALOG), str(tmp_path), [task], Options(audience="public"), None, None)
        prefixes = run.cluster.scheduler.task_prefixes
        spill = run.client.run(lambda: (dask.config.get("distributed.worker.memory.target"),
                                        dask.config.get("distributed.worker.memory.spill")))
    finally:
        run.close()
    assert [o.status for o in got.values()] == ["built"]
    assert (tmp_path / task.folder / "results.gpkg").is_file()
    assert "localprofile-build" not in prefixes
    assert prefixes["localprofile-profile"].all_durations["compute"] > 0
    assert prefixes["localprofile-write"].all_durations["compute"] > 0
    assert list(spill.values()) == [(False, False)]  # the one worker keeps its results in memory


def test_a_rerun_rebuilds_nothing_when_nothing_changed(force_batch):
    root, res, tmp = force_batch
    before = {d: files(root / d.lower() / "public") for d in DISTRICTS}
    again = run_cli("build-all", "--catalog", str(CATALOG), "--force", FORCE, "--audience", "public",
                    "--out", str(root), "--cache", str(tmp / "cache"))
    assert again.returncode == 0, again.stderr
    assert again.stderr.count(": up to date,") == 5 and ": built," not in again.stderr
    assert {d: files(root / d.lower() / "public") for d in DISTRICTS} == before


def _broken_catalog(tmp: Path, district: str) -> Path:
    """The demo catalog with a boundary file that lost every LSOA of ``district`` (a cut download)."""
    src = json.loads((DATA / "boundaries" / "lsoa11_bsc_west_yorkshire.geojson").read_text(encoding="utf-8"))
    codes = {r["LSOA Code"] for r in lookup_rows() if r["Local authority name"] == district}
    kept = dict(src, features=[f for f in src["features"] if f["properties"]["LSOA11CD"] not in codes])
    assert len(kept["features"]) == len(src["features"]) - len(codes) > 0
    (tmp / "boundaries.geojson").write_text(json.dumps(kept), encoding="utf-8")
    return write_catalog(tmp, layers={"lsoa_boundaries": {"path": str(tmp / "boundaries.geojson")}})


def test_a_broken_district_is_named_on_the_front_page_and_fails_the_batch(tmp_path):
    catalog = _broken_catalog(tmp_path, "Calderdale")
    root = tmp_path / "out"
    args = ["build-all", "--catalog", str(catalog), "--districts", "Calderdale,Wakefield", "--out", str(root),
            "--workers", "2", "--no-cache"]
    res = run_cli(*args)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert re.search(r"Calderdale \(E08000033\): FAILED: .*none of the 128 LSOAs of Calderdale", res.stderr)
    assert "1 of 2 districts failed (Calderdale)" in res.stderr
    assert (root / "wakefield" / "index.html").is_file() and not (root / "calderdale").exists()
    page = (root / "index.html").read_text(encoding="utf-8")
    failed = page.split('id="failed"', 1)[1].split("</section>", 1)[0]
    assert "Calderdale (E08000033)" in failed and "none of the 128 LSOAs of Calderdale" in failed
    assert 'href="wakefield/index.html"' in page and 'href="calderdale' not in page
    assert res.stdout.split() == [str((root / "wakefield" / "index.html").resolve()), str((root / "index.html").resolve())]



def test_a_rerun_rebuilds_only_the_district_that_failed(tmp_path):
    root = tmp_path / "out"
    root.mkdir()
    (root / "calderdale").write_text("a file where the folder must go", encoding="utf-8")  # cannot be written
    args = ["build-all", "--catalog", str(CATALOG), "--districts", "Calderdale,Wakefield", "--audience", "public",
            "--out", str(root), "--workers", "2", "--no-cache"]
    res = run_cli(*args)
    assert res.returncode == 2 and "Calderdale (E08000033): FAILED: " in res.stderr, res.stderr
    kept = {p: p.stat().st_mtime_ns for p in (root / "wakefield").rglob("*")}
    wakefield = files(root / "wakefield")
    (root / "calderdale").unlink()
    again = run_cli(*args)
    assert again.returncode == 0, again.stderr
    assert "Calderdale (E08000033): built" in again.stderr and "Wakefield (E08000036): up to date" in again.stderr
    assert files(root / "wakefield") == wakefield
    assert {p: p.stat().st_mtime_ns for p in (root / "wakefield").rglob("*")} == kept  # not even rewritten
    assert (root / "calderdale" / "public" / "index.html").is_file()


def test_an_unknown_force_or_district_is_a_one_line_error(tmp_path):
    res = run_cli("build-all", "--catalog", str(CATALOG), "--force", "Atlantis", "--audience", "public",
                  "--out", str(tmp_path / "o"))
    one_line_error(res, "no police force 'Atlantis'", "West Yorkshire")
    res = run_cli("build-all", "--catalog", str(CATALOG), "--districts", "Leeds,Gotham", "--audience", "public",
                  "--out", str(tmp_path / "o"))
    one_line_error(res, "no district 'Gotham'", "Calderdale")
    res = run_cli("build-all", "--catalog", str(CATALOG), "--audience", "public", "--out", str(tmp_path / "o"))
    one_line_error(res, "--force NAME or --districts")
    assert not (tmp_path / "o").exists()


def _month_folder(tmp: Path, months: list[str]) -> Path:
    folder = tmp / "police"
    folder.mkdir(exist_ok=True)
    for m in months:
        with zipfile.ZipFile(DATA / "police_uk" / f"{m}.zip") as zf:
            (folder / f"{m}-west-yorkshire-street.csv").write_bytes(zf.read(f"{m}/{m}-west-yorkshire-street.csv"))
    return folder


def test_a_new_month_is_the_only_table_parsed_again_and_the_cache_changes_nothing(tmp_path):
    folder = _month_folder(tmp_path, ["2016-07"])
    cat = load_catalog(write_catalog(tmp_path, layers={"crimes": {"path": str(folder)}}))
    try:
        cache.use_cache(tmp_path / "cache")
        cache.STATS.clear()
        LoadContext(cat, memory=False).layer("crimes")
        assert cache.STATS["table_misses"] == 1 and cache.STATS["table_hits"] == 0
        _month_folder(tmp_path, ["2017-07"])  # a month is added
        cache.STATS.clear()
        cached = LoadContext(cat, memory=False).layer("crimes")
        assert cache.STATS["table_hits"] == 1 and cache.STATS["table_misses"] == 1  # only the new month parsed
        assert cache.STATS["layer_misses"] == 1  # the layer as a whole is new
        cache.STATS.clear()
        again = LoadContext(cat, memory=False).layer("crimes")
        assert cache.STATS["layer_hits"] == 1 and cache.STATS["table_misses"] == 0
    finally:
        cache.use_cache(None)
    fresh = LoadContext(cat, memory=False).layer("crimes")  # no cache at all
    for got in (cached, again):
        assert got.frame.equals(fresh.frame) and list(got.frame.dtypes) == list(fresh.frame.dtypes)
        # in the same order too: the profile lists drop reasons and notes as the adapter counted them
        assert json.dumps(got.account.to_dict()) == json.dumps(fresh.account.to_dict())
        assert json.dumps(got.meta) == json.dumps(fresh.meta)
        assert got.frame.crs == fresh.frame.crs and got.frame.attrs == fresh.frame.attrs
    assert fresh.meta["months"] == ["2016-07", "2017-07"]


def test_restricted_layers_are_never_cached(tmp_path):
    import pandas as pd

    cat = load_catalog(CATALOG)
    try:
        cache.use_cache(tmp_path)
        ctx = LoadContext(cat, memory=False)
        ocg = ctx.layer("ocg_members").frame  # geocoded through the (open) postcode layers
        ctx.layer("imd2019")
    finally:
        cache.use_cache(None)
    open_read = [n for n in ctx.loaded if cat.layers[n].sensitivity == "open"]
    assert "imd2019" in open_read and "codepoint_open" in open_read
    stored = [pd.read_parquet(p) for p in tmp_path.rglob("*.parquet")]
    assert len(stored) == len(open_read)  # one per open layer, none for ocg_members
    assert not [f for f in stored if set(f.columns) == set(ocg.columns)]
    assert not any("SYNTHETIC" in p.read_text(encoding="utf-8", errors="ignore") for p in tmp_path.rglob("*.json"))


@pytest.mark.parametrize("command", ["build", "build-all"])
def test_a_cache_that_is_a_file_is_one_line_before_any_build(tmp_path, command):
    blocker = tmp_path / "cache"
    blocker.write_text("not a folder")
    where = ["--district", "Calderdale"] if command == "build" else ["--districts", "Calderdale", "--serial"]
    res = run_cli(command, "--catalog", str(CATALOG), *where, "--audience", "public",
                  "--out", str(tmp_path / "out"), "--cache", str(blocker))
    one_line_error(res, str(blocker), "--cache", "must be a folder")
    assert not (tmp_path / "out").exists()


def test_a_police_uk_layer_marked_restricted_leaves_no_monthly_table_in_the_cache(tmp_path):
    """A force's own street-level extract marked restricted: read as before, but neither the
    layer nor its monthly tables are written to the input cache."""
    folder = _month_folder(tmp_path, ["2016-07"])
    cat = load_catalog(write_catalog(tmp_path, layers={"crimes": {"path": str(folder), "sensitivity": "restricted"}}))
    try:
        cache.use_cache(tmp_path / "cache")
        cache.STATS.clear()
        got = LoadContext(cat, memory=False).layer("crimes")
    finally:
        cache.use_cache(None)
    assert len(got.frame) > 20_000 and got.account.read == len(got.frame) + sum(got.account.dropped.values())
    assert not list((tmp_path / "cache").rglob("*.parquet"))
    assert cache.STATS["table_misses"] == cache.STATS["table_hits"] == cache.STATS["layer_misses"] == 0


def test_every_open_layer_comes_back_from_the_cache_as_it_was_read(tmp_path):
    """Frame, record account and facts of each open demo layer: the same values in the same
    order (the profile lists drop reasons as the adapter counted them), cold cache and warm."""
    cat = load_catalog(CATALOG)
    fresh = {n: LoadContext(cat, memory=False).layer(n) for n in cat.layers if cat.layers[n].sensitivity == "open"}
    try:
        cache.use_cache(tmp_path)
        for _ in range(2):  # fills the cache, then reads it back
            cache.STATS.clear()
            got = {n: LoadContext(cat, memory=False).layer(n) for n in fresh}
    finally:
        cache.use_cache(None)
    assert cache.STATS["layer_hits"] >= 5 and cache.STATS["layer_misses"] == 0
    for n, f in fresh.items():
        g = got[n]
        assert g.frame.equals(f.frame) and list(g.frame.dtypes) == list(f.frame.dtypes), n
        assert json.dumps(g.account.to_dict()) == json.dumps(f.account.to_dict()), n
        assert json.dumps(g.meta) == json.dumps(f.meta) and g.frame.attrs == f.frame.attrs, n


def test_build_with_a_cache_reads_its_inputs_from_it_the_second_time_and_writes_the_same_files(tmp_path):
    """``localprofile build --cache DIR`` (one district): the first build fills the cache, the
    second reads every open layer from it, and both write what a build without a cache writes,
    byte for byte. This process's own store of layers is emptied before each build, so each
    reads from the disk cache or the files as a new process would."""
    from localprofile import loading

    def build(out, *extra):
        loading._CACHE.clear()
        cache.STATS.clear()
        got = run_cli("build", "--catalog", str(CATALOG), "--district", "Calderdale", "--audience", "public",
                      "--out", str(out), "-q", *extra)
        assert got.returncode == 0, got.stderr
        return {f.name: f.read_bytes() for f in sorted(out.iterdir())}

    plain = build(tmp_path / "plain")
    assert cache.STATS["layer_hits"] == cache.STATS["layer_misses"] == 0  # no --cache: no cache
    first = build(tmp_path / "first", "--cache", str(tmp_path / "cache"))
    assert cache.STATS["layer_misses"] >= 5 and cache.STATS["layer_hits"] == 0
    assert list((tmp_path / "cache").rglob("*.parquet"))
    second = build(tmp_path / "second", "--cache", str(tmp_path / "cache"))
    assert cache.STATS["layer_hits"] >= 5 and cache.STATS["layer_misses"] == 0
    assert plain == first == second and len(plain) > 10
