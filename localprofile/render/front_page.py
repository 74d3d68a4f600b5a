"""The front page of a multi-district build: one offline HTML file (no JavaScript) in the output
root that lists each district's key figures and links to its profile.

It reads each district's ``summary.json`` and computes nothing new, so its figures are the
profiles' own: crimes (every record in the district), the rate per 1,000 residents and the Gi*
hot cells of the key theme (``all_crime`` when the catalog keeps it), the top theme (rank 1 of
the theme priorities table; without one, the theme with most crimes among those that are not
every crime type) and the top priority neighbourhood. All the districts must be for one audience
and carry one marking: a front page never links a partner's reader to a force profile.

>>> import tempfile
>>> from pathlib import Path
>>> from localprofile.build import build_profile
>>> from localprofile.demo import demo_catalog_path
>>> from localprofile.render import write_outputs
>>> p = build_profile(demo_catalog_path(), "Calderdale", audience="public")
>>> with tempfile.TemporaryDirectory() as tmp:
...     root = Path(tmp)
...     _ = write_outputs(p, root / "calderdale" / "public")
...     page = write_front_page(root, [root / "calderdale" / "public"])
...     page.name, 'href="calderdale/public/index.html"' in page.read_text(encoding="utf-8")
('index.html', True)
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import quote


from ..errors import InputError
from .html import _ENV, AUDIENCE_TEXT, months_text  # the report's Jinja environment

KEY_THEME = "all_crime"
DEFAULT_TITLE = "Serious and Organised Crime local profile"  # the catalog default


@dataclass(frozen=True)
class DistrictEntry:
    """One district's line on the front page, taken from its ``summary.json``."""

    name: str
    code: str
    href: str  # relative link from the front page to the district's index.html
    audience: str | None
    marking: str
    months: tuple[str, ...]  # the months of data, YYYY-MM
    crimes: int
    key_theme: str  # label of the theme whose rate and hot cells are shown
    rate_per_1000: float
    hot_cells: int
    top_theme: str | None  # label
    top_theme_basis: str | None  # why it is the top theme
    top_neighbourhood: str | None  # "name (code)"
    top_neighbourhood_why: str | None


def district_entry(summary: dict, href: str) -> DistrictEntry:
    """The front-page line of a district from its summary (:func:`~localprofile.render.summary.summary_dict`)."""
    themes = summary["themes"]
    key = KEY_THEME if KEY_THEME in themes else next(iter(themes))
    top_theme = basis = None
    ranked = (summary.get("theme_priorities") or {}).get("themes") or []
    if ranked:
        first = min(ranked, key=lambda r: r["rank"])
        top_theme = themes[first["theme"]]["label"]
        basis = f"rank 1 of {len(ranked)} in the theme priorities ({first['ranked_by']})"
    else:
        specific = {s: t for s, t in themes.items() if t["crime_types"] != "*"}
        if specific:
            slug = max(sorted(specific), key=lambda s: specific[s]["crimes"])
            top_theme, basis = specific[slug]["label"], "the most crimes"
    hood = why = None
    top = (summary.get("priority_neighbourhoods") or {}).get("top") or []
    if top:
        first = min(top, key=lambda r: r["rank"])
        hood, why = f"{first['name']} ({first['code']})", first["why"]
    return DistrictEntry(
        name=summary["district"]["name"], code=summary["district"]["code"], href=href,
        audience=summary["audience"], marking=summary["marking"],
        months=tuple(summary["period"]["months"]), crimes=summary["crimes"],
        key_theme=themes[key]["label"], rate_per_1000=themes[key]["rate_per_1000"],
        hot_cells=themes[key]["hotspot_cells"], top_theme=top_theme, top_theme_basis=basis,
        top_neighbourhood=hood, top_neighbourhood_why=why,
    )


def front_page_entries(root: str | Path, folders: list[str | Path]) -> list[DistrictEntry]:
    """The lines of the front page in ``root`` for the profiles in ``folders`` (each holding
    index.html and summary.json), sorted by district name then code; a folder given twice is
    listed once."""
    root = Path(root)
    entries = {}
    for folder in folders:
        folder = Path(folder)
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        href = quote(Path(os.path.relpath(folder / "index.html", root)).as_posix())
        entries[href] = district_entry(summary, href)
    return sorted(entries.values(), key=lambda e: (e.name, e.code, e.href))




def render_front_page(entries: list[DistrictEntry], title: str = DEFAULT_TITLE, *,
                      failed: list[tuple[str, str, str]] = (), audience: str | None = None,
                      marking: str | None = None) -> str:
    """The front page's HTML: the same text for the same entries.

    ``failed`` lists the districts whose build failed, as (name, code, error): they are named
    at the top of the page. ``audience`` and ``marking`` are the batch's (they must match every
    entry's); a page of failures alone needs them.

    Raises InputError when there is nothing to list, or when the entries differ in audience or
    marking.
    """
    kinds = {(e.audience, e.marking) for e in entries}
    if marking is not None:
        kinds.add((audience, marking))
    if not entries and not failed:
        raise InputError("a front page needs at least one district")
    if not kinds:
        raise InputError("a front page of failed districts alone needs the batch's marking")
    if len(kinds) > 1:
        raise InputError(
            "the districts' profiles are for different audiences or markings ("
            + "; ".join(sorted(f"{a or 'no audience'}: {m}" for a, m in kinds))
            + "): one front page per audience"
        )
    audience, marking = kinds.pop()
    periods = sorted({e.months for e in entries})
    return _ENV.get_template("front_page.html.j2").render(
        title=title, entries=entries, audience=audience, marking=marking,
        failed=sorted(failed),
        audience_text=AUDIENCE_TEXT.get(audience, audience) if audience else None,
        period=months_text(list(periods[0])) if len(periods) == 1 else None, months_text=months_text,
        css=resources.files("localprofile.templates").joinpath("profile.css").read_text(encoding="utf-8"),
    )


def write_front_page(root: str | Path, folders: list[str | Path], title: str = DEFAULT_TITLE, *,
                     failed: list[tuple[str, str, str]] = (), audience: str | None = None,
                     marking: str | None = None) -> Path:
    """Write ``root``/index.html listing the profiles in ``folders`` (and the ``failed``
    districts, see :func:`render_front_page`); written to a temporary folder in ``root`` and
    moved into place, so a failure leaves any earlier front page whole."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    html = render_front_page(front_page_entries(root, folders), title, failed=list(failed),
                             audience=audience, marking=marking)
    tmp = Path(tempfile.mkdtemp(prefix=".localprofile-", dir=root))
    try:
        (tmp / "index.html").write_text(html, encoding="utf-8")
        os.replace(tmp / "index.html", root / "index.html")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root / "index.html"
