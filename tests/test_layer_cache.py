"""Layers read once per process: the same catalog entry and the same bytes give a copy of the
first read; a changed file is read again; a use cannot change what the next one sees."""

from __future__ import annotations

import shutil

from conftest import DATA, write_catalog

from localprofile.catalog import load_catalog
from localprofile.loading import LoadContext


def test_a_second_read_is_a_copy_and_a_changed_file_is_read_again(tmp_path):
    src = DATA / "deprivation" / "imd2019_lsoa11_ranks_deciles_west_yorkshire.csv"
    path = tmp_path / "imd.csv"
    shutil.copy(src, path)
    cat = load_catalog(write_catalog(tmp_path, layers={"imd2019": {"path": str(path)}}))
    first = LoadContext(cat).layer("imd2019")
    first.frame.loc[0, "imd_rank"] = -1  # a build that changes its frame
    first.account.notes["changed"] = 1
    second = LoadContext(cat).layer("imd2019")
    assert second.frame is not first.frame and int(second.frame.loc[0, "imd_rank"]) > 0
    assert "changed" not in second.account.notes
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines[:-10]) + "\n", encoding="utf-8")  # the file changes: read again
    third = LoadContext(cat).layer("imd2019")
    assert len(third.frame) == len(second.frame) - 10


def test_a_geocoded_layer_is_kept_by_the_bytes_of_the_postcode_layers_too(tmp_path, monkeypatch):
    """Schools are placed by postcode through the catalog's postcode layers: a second read in
    this process is a copy of the first, and when the postcode files differ (other bytes) or a
    build may not use one of them, the schools are read and geocoded again."""
    import zipfile

    from localprofile.loading import ADAPTERS

    src = DATA / "postcodes" / "codepoint_open_2025_west_yorkshire.zip"
    path = tmp_path / "codepoint.zip"
    shutil.copy(src, path)
    cat = load_catalog(write_catalog(tmp_path, layers={"codepoint_open": {"path": str(path)}}))
    module, calls = ADAPTERS["schools"], []
    real = module.load
    monkeypatch.setattr(module, "load", lambda *a, **k: calls.append(1) or real(*a, **k))

    first = LoadContext(cat).layer("schools")
    first.frame.loc[first.frame.index[0], "name"] = "changed by a build"
    second = LoadContext(cat).layer("schools")
    assert len(calls) == 1 and second.frame is not first.frame
    assert second.frame["name"].iloc[0] != "changed by a build"
    without = LoadContext(cat, skip={"ons_postcodes"}).layer("schools")  # geocoded by Code-Point alone
    assert len(calls) == 2
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as new:
        for member in old.infolist():
            new.writestr(member.filename, old.read(member))  # the same postcodes, other bytes
    third = LoadContext(cat).layer("schools")
    assert len(calls) == 3
    assert third.frame.drop(columns="name").equals(second.frame.drop(columns="name"))
    assert len(without.frame) + sum(without.account.dropped.values()) == len(third.frame) + sum(third.account.dropped.values())


def test_no_cache_means_none_whatever_the_environment(tmp_path, monkeypatch):
    """``build`` without ``--cache`` and ``build-all --no-cache`` (no folder given) keep no
    parsed inputs anywhere: no environment variable turns a cache on behind the command line."""
    from localprofile import cache

    for name in ("LOCALPROFILE_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    cache.use_cache(None)
    cat = load_catalog(write_catalog(tmp_path))
    cache.STATS.clear()
    LoadContext(cat, memory=False).layer("imd2019")
    assert cache.cache_dir() is None and not cache.STATS
    assert not [p for p in tmp_path.rglob("*") if p.suffix in (".parquet", ".json")]
