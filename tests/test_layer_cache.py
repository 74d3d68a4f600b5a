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
