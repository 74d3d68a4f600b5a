"""Issue 10, partner views: restricted counts in results.gpkg are numbers QGIS can style, with a
separate suppression flag, and agree with the partner HTML's table cell for cell."""

from __future__ import annotations

import html as htmllib
import json
import re

import numpy as np
import pandas as pd
import pyogrio

RESTRICTED = ["ocg_members", "cse_locations", "vulnerable_persons", "repeat_offenders"]
THRESHOLD = 5
SMALL = f"small count (<{THRESHOLD})"
SECONDARY = "secondary (withheld so the small one cannot be worked out)"


def _html_table(folder) -> pd.DataFrame:
    """The partner HTML's "Restricted layers by neighbourhood" table: one row per listed
    neighbourhood (by MSOA code), one column per layer label, cells as printed."""
    text = (folder / "index.html").read_text(encoding="utf-8")
    section = text[text.index("Restricted layers by neighbourhood"):]
    section = section[:section.index("</table>")]
    head, body = section.split("</thead>", 1)
    labels = [htmllib.unescape(re.sub(r"<[^>]+>", "", h)).replace("SYNTHETIC", "").strip()
              for h in re.findall(r'<th class="num">(.*?)</th>', head)]
    rows = {}
    for tr in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S):
        cells = [htmllib.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, flags=re.S)]
        code = re.search(r"\(([EW]0\d{7})\)\s*$", cells[0]).group(1)
        rows[code] = cells[1:]
    return pd.DataFrame.from_dict(rows, orient="index", columns=labels)


def test_partner_gpkg_counts_are_integers_with_flags(demo_root):
    folder = demo_root / "partner"
    hoods = pyogrio.read_dataframe(folder / "results.gpkg", layer="neighbourhoods").set_index("code")
    info = pyogrio.read_info(folder / "results.gpkg", layer="neighbourhoods")
    types = dict(zip(info["fields"], info["dtypes"]))
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    labels = {n: summary["context"][n]["label"] for n in RESTRICTED}
    table = _html_table(folder)
    assert len(table) > 20
    seen = {"small": 0, "secondary": 0}
    for name in RESTRICTED:
        col = f"{name}_synthetic"
        # a whole-number field in the GeoPackage itself (QGIS reads its schema), not text
        assert np.issubdtype(np.dtype(types[col]), np.integer), (col, types[col])
        flag = hoods[f"{col}_suppressed"]
        assert set(flag) <= {"none", SMALL, SECONDARY}, set(flag)
        counts = hoods[col]  # float64 in pandas where NULLs are present; Int64 in the file
        # NULL exactly where suppressed; no visible count between 1 and the threshold
        assert (counts.isna() == (flag != "none")).all(), name
        visible = counts.dropna().astype(int)
        assert ((visible == 0) | (visible >= THRESHOLD)).all(), visible[(visible > 0) & (visible < THRESHOLD)]
        # the HTML's cells, neighbourhood by neighbourhood: "<5" where the flag says small,
        # "*" where secondary, the same number otherwise
        html_col = table[labels[name]]
        expected = flag.reindex(table.index).map({SMALL: f"<{THRESHOLD}", SECONDARY: "*"})
        expected = expected.fillna(counts.reindex(table.index).astype("Int64").astype("string"))
        assert (html_col == expected).all(), pd.concat([html_col, expected], axis=1)[html_col != expected]
        # neighbourhoods the HTML leaves out have no record in any restricted layer
        others = hoods.index.difference(table.index)
        assert (hoods.loc[others, col] == 0).all()
        seen["small"] += int((flag == SMALL).sum())
        seen["secondary"] += int((flag == SECONDARY).sum())
    assert seen["small"] > 10 and seen["secondary"] >= 1  # both kinds of suppression really happen here


def test_force_gpkg_counts_are_exact(demo_root):
    """The force view has no suppression: every count is a number, flagged "none", and they add
    up to the layer's points in the district."""
    folder = demo_root / "force"
    hoods = pyogrio.read_dataframe(folder / "results.gpkg", layer="neighbourhoods")
    for name in RESTRICTED:
        col = f"{name}_synthetic"
        pts = pyogrio.read_dataframe(folder / "results.gpkg", layer=f"context_{col}", read_geometry=False)
        assert hoods[col].notna().all() and (hoods[f"{col}_suppressed"] == "none").all()
        assert int(hoods[col].sum()) == len(pts)
