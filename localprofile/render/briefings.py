"""Printed PCSO briefing sheets: one A4 PDF per neighbourhood, and an index of them.

Each sheet is HTML (``templates/briefing.html.j2``, autoescaped) printed by WeasyPrint, with a
static map drawn by matplotlib (Agg, no browser) and embedded as a PNG: the neighbourhood's
outline, its LSOAs by name, Gi* hot cells and repeat locations of the mapped themes, schools and
the numbered top map points. The protective marking is in the header and footer of every page.

A renderer: everything comes from the :class:`~localprofile.profile.Profile` (its ``briefing``
units from :mod:`localprofile.stages.briefings`, the overlay, the LSOA table and the context
layers), selected, never computed. Partner sheets carry no restricted layer at all (no point,
identifier, label or count); public outputs have no briefing sheets.

Reproducible: the PDFs' dates are the profile's generation date (the data's, never the clock),
their identifier is derived from their content, and the map PNGs carry no software stamp.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import shapely

from ..errors import InputError
from ..loading import Progress
from ..profile import Profile
from .html import _ENV, _template, months_text  # the report's Jinja environment and filters

BRIEFINGS_DIR = "briefings"
A4_MM = (210, 297)
HATCHES = ("////", "\\\\\\\\", "xxxx", "....", "++++")



def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")


def sheet_name(code: str, name: str) -> str:
    """A sheet's file name: code and name, e.g. ``E02002415-leeds-086.pdf``.

    >>> sheet_name("E02002415", "Leeds 086")
    'E02002415-leeds-086.pdf'
    """
    slug = _slug(name)
    return f"{code}-{slug}.pdf" if slug and slug != _slug(code) else f"{code}.pdf"


def check_briefing_audience(audience: str | None) -> None:
    """Briefing sheets are for the force and its partners: public outputs have none."""
    if audience == "public":
        raise InputError("briefing sheets are for PCSOs and partners: build them with --audience force "
                         "or partner (public outputs have none)", key="--audience")


def select_units(profile: Profile, wanted: Sequence[str] | None) -> list[int]:
    """The positions of the wanted neighbourhoods (codes or names, any case) in the profile's
    briefing units; all of them when ``wanted`` is None; an error naming any unknown one."""
    b = profile.briefing
    if wanted is None:
        return list(range(len(b.codes)))
    lookup = {c.lower(): i for i, c in enumerate(b.codes)}
    lookup.update({n.lower(): i for i, n in enumerate(b.names) if n.lower() not in lookup})
    unknown = [w for w in wanted if w.strip().lower() not in lookup]
    if unknown:
        raise InputError(f"no {b.unit} '{unknown[0]}' in {profile.district.name} (give a code or name such as "
                         f"{b.codes[0]} or {b.names[0]})", key="--neighbourhood")
    return sorted({lookup[w.strip().lower()] for w in wanted})


def _look_for_blocks(text: str) -> list[tuple[str, object]]:
    """The "what to look for" text as blocks: ("h", text), ("p", runs) or ("ul", [runs, ...]),
    where runs are (bold, text) pairs from ``**bold**``: a small Markdown subset, escaped later."""
    def runs(line: str) -> list[tuple[bool, str]]:
        parts = re.split(r"\*\*(.+?)\*\*", line)
        return [(i % 2 == 1, p) for i, p in enumerate(parts) if p]

    blocks: list[tuple[str, object]] = []
    para: list[str] = []

    def flush():
        if para:
            blocks.append(("p", runs(" ".join(para))))
            para.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            flush()
        elif line.startswith("#"):
            flush()
            blocks.append(("h", line.lstrip("#").strip()))
        elif line[:2] in ("- ", "* "):
            flush()
            if blocks and blocks[-1][0] == "ul":
                blocks[-1][1].append(runs(line[2:]))
            else:
                blocks.append(("ul", [runs(line[2:])]))
        else:
            para.append(line)
    flush()
    return blocks


class _MapDrawer:
    """One matplotlib figure for all sheets: the district-wide layers drawn once, each sheet only
    moving the view and adding its outline and labels (no per-point Python loop)."""

    def __init__(self, profile: Profile, width_in: float = 7.0, height_in: float = 3.95):
        import matplotlib

        matplotlib.use("Agg", force=False)
        from matplotlib.figure import Figure

        self.rc = {"font.family": "DejaVu Sans", "font.size": 9, "svg.hashsalt": "localprofile",
                   "hatch.linewidth": 0.8, "path.simplify": True}
        self.profile = profile
        with matplotlib.rc_context(self.rc):
            self.fig = Figure(figsize=(width_in, height_in), dpi=150)
            from matplotlib.backends.backend_agg import FigureCanvasAgg

            FigureCanvasAgg(self.fig)
            self.ax = self.fig.add_axes((0, 0, 1, 1))
            self._draw_static()
        self.dynamic: list = []

    def _draw_static(self) -> None:
        import geopandas as gpd
        from matplotlib.patches import PathPatch
        from matplotlib.path import Path as MPath

        p, ax = self.profile, self.ax
        ax.set_axis_off()
        ax.set_aspect("equal")
        lsoa = p.lsoa[p.lsoa.geometry.notna()]
        self.legend: list[tuple[str, str]] = []  # (symbol key, label) for the HTML legend
        grid_cells = []
        for i, slug in enumerate(p.briefing.themes):
            t = p.themes[slug]
            g, cls = (p.hexgrid, t.hex.hotspot) if t.hex is not None else (p.grid, t.hotspot)
            hot = np.asarray(cls) == "hot"
            hatch = HATCHES[i % len(HATCHES)]
            if hot.any():  # one hatched shape per theme: the union of its hot cells
                union = shapely.union_all(g.cells(hot))
                ax.add_patch(PathPatch(_path(union, MPath), facecolor="none", edgecolor="#444444",
                                       hatch=hatch, linewidth=0.5, zorder=2))
            grid_cells.append((hatch, f"{t.theme.label.split(' (')[0]}: Gi* hot cells"))
        self.legend_hatches = grid_cells
        gpd.GeoSeries(lsoa.geometry.to_numpy()).boundary.plot(ax=ax, color="#7a7a7a", linewidth=0.6, zorder=3)
        reps = [p.themes[s].repeats for s in p.briefing.themes if p.themes[s].repeats is not None
                and len(p.themes[s].repeats)]
        if reps:
            pts = shapely.centroid(np.concatenate([r.geometry.to_numpy() for r in reps]))
            xy = shapely.get_coordinates(pts)
            ax.scatter(xy[:, 0], xy[:, 1], marker="D", s=26, facecolor="black", edgecolor="white",
                       linewidth=0.6, zorder=6)
        schools = _school_points(p)
        if schools is not None and len(schools):
            xy = shapely.get_coordinates(schools.geometry.to_numpy())
            ax.scatter(xy[:, 0], xy[:, 1], marker="^", s=46, facecolor="white", edgecolor="black",
                       linewidth=0.9, zorder=6)

    def draw(self, polygon, lsoa_labels: list[tuple[str, float, float]], points: np.ndarray,
             school_xy: np.ndarray) -> str:
        """The map of one neighbourhood as a PNG data URI."""
        import matplotlib
        from matplotlib.patches import PathPatch
        from matplotlib.path import Path as MPath

        for artist in self.dynamic:
            artist.remove()
        self.dynamic = []
        ax = self.ax
        with matplotlib.rc_context(self.rc):
            x0, y0, x1, y1 = polygon.bounds
            w, h = x1 - x0, y1 - y0
            aspect = self.fig.get_figwidth() / self.fig.get_figheight()
            pad = 0.08
            w, h = max(w, h * aspect, 400.0) * (1 + 2 * pad), max(h, w / aspect, 400.0 / aspect) * (1 + 2 * pad)
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            ax.set_xlim(cx - w / 2, cx + w / 2)
            ax.set_ylim(cy - h / 2, cy + h / 2)
            # outside the neighbourhood washed out: a frame with the neighbourhood as its hole
            frame = shapely.difference(shapely.box(cx - w, cy - h, cx + w, cy + h), polygon)
            self.dynamic.append(ax.add_patch(PathPatch(_path(frame, MPath), facecolor="white", alpha=0.55,
                                                       edgecolor="none", zorder=4)))
            self.dynamic.append(ax.add_patch(PathPatch(_path(polygon, MPath), facecolor="none", edgecolor="black",
                                                       linewidth=2.4, zorder=5)))
            for text, x, y in lsoa_labels:
                self.dynamic.append(ax.text(x, y, text, ha="center", va="center", fontsize=8, zorder=7,
                                            color="black", bbox={"boxstyle": "round,pad=0.15", "fc": "white",
                                                                 "ec": "#7a7a7a", "lw": 0.5}))
            if len(points):
                self.dynamic.append(ax.scatter(points[:, 0], points[:, 1], s=150, facecolor="white",
                                               edgecolor="black", linewidth=1.0, zorder=8))
                for k, (x, y) in enumerate(points, 1):  # at most profile.briefings.top_locations
                    self.dynamic.append(ax.text(x, y, str(k), ha="center", va="center", fontsize=7.5,
                                                fontweight="bold", zorder=9))
            for k, (x, y) in enumerate(school_xy, 1):
                self.dynamic.append(ax.text(x, y - 0.012 * h, f"S{k}", ha="center", va="top", fontsize=7,
                                            zorder=7, bbox={"boxstyle": "square,pad=0.1", "fc": "white",
                                                            "ec": "none", "alpha": 0.8}))
            self.dynamic.append(ax.text(0.995, 0.005, _scale_text(w), transform=ax.transAxes, ha="right",
                                        va="bottom", fontsize=7.5, zorder=9,
                                        bbox={"fc": "white", "ec": "#7a7a7a", "lw": 0.5}))
            self.fig.canvas.draw()
        # greyscale PNG without metadata: the map is drawn in black, white and greys, and a
        # single channel is a third of the size (and of the time to encode)
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(np.asarray(self.fig.canvas.buffer_rgba())).convert("L").save(buf, format="PNG",
                                                                                   compress_level=6)
        return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _school_points(p: Profile):
    """The open schools layer's points in the district (the first schools layer), or None."""
    names = [n for n, l in p.layers.items() if l.spec.adapter == "schools" and n in p.context
             and p.context[n].points is not None and l.spec.sensitivity == "open"]
    return p.context[names[0]].points if names else None


def _scale_text(width_m: float) -> str:
    return f"map width {width_m / 1000:.1f} km · grid north up · British National Grid"


def _path(geom, MPath):
    """A shapely (multi)polygon as one matplotlib path (holes included)."""
    verts, codes = [], []
    polys = getattr(geom, "geoms", [geom])
    for poly in polys:
        for ring in [poly.exterior, *poly.interiors]:
            c = np.asarray(ring.coords)
            verts.append(c)
            codes.append(np.r_[MPath.MOVETO, np.full(len(c) - 2, MPath.LINETO), MPath.CLOSEPOLY])
    if not verts:
        return MPath(np.zeros((1, 2)))
    return MPath(np.concatenate(verts), np.concatenate(codes).astype(np.uint8))


def _legend_svg(kind: str, hatch: str | None = None) -> str:
    """A small inline SVG legend symbol (drawn in black and white, like the map)."""
    if kind == "hatch":
        d = {"////": "M0,14 L14,0 M-4,4 L4,-4 M10,18 L18,10", "\\\\\\\\": "M0,0 L14,14 M-4,10 L4,18 M10,-4 L18,4"}
        lines = d.get(hatch, "M0,7 L14,7 M7,0 L7,14")
        return (f'<svg width="16" height="16" viewBox="0 0 14 14"><rect width="14" height="14" fill="white" '
                f'stroke="#444"/><path d="{lines}" stroke="#444" stroke-width="1.4"/></svg>')
    return {
        "outline": '<svg width="16" height="16" viewBox="0 0 14 14"><rect x="1" y="1" width="12" height="12" '
                   'fill="none" stroke="black" stroke-width="2.4"/></svg>',
        "lsoa": '<svg width="16" height="16" viewBox="0 0 14 14"><rect x="1" y="1" width="12" height="12" '
                'fill="none" stroke="#7a7a7a" stroke-width="1"/></svg>',
        "repeat": '<svg width="16" height="16" viewBox="0 0 14 14"><path d="M7,1 L13,7 L7,13 L1,7 Z" '
                  'fill="black" stroke="white"/></svg>',
        "school": '<svg width="16" height="16" viewBox="0 0 14 14"><path d="M7,1 L13,13 L1,13 Z" '
                  'fill="white" stroke="black" stroke-width="1.3"/></svg>',
        "point": '<svg width="16" height="16" viewBox="0 0 14 14"><circle cx="7" cy="7" r="6" fill="white" '
                 'stroke="black"/><text x="7" y="10" font-size="8" text-anchor="middle" '
                 'font-weight="bold">1</text></svg>',
    }[kind]


def _sheet_context(profile: Profile, i: int) -> dict:
    """Everything one sheet shows, selected from the profile."""
    from markupsafe import Markup

    b = profile.briefing
    code, name, polygon = b.codes[i], b.names[i], b.geometry[i]
    lsoa_codes = b.lsoa_unit.index[b.lsoa_unit.to_numpy() == code]
    lsoa = profile.lsoa.set_index("lsoa_code").loc[lambda f: f.index.isin(lsoa_codes)].sort_index()
    themes = [s for s in ("all_crime", *b.themes) if s in profile.themes]
    themes = list(dict.fromkeys(themes))
    lsoa_rows = [{
        "code": c, "name": r["lsoa_name"] if isinstance(r["lsoa_name"], str) else c,
        "residents": None if not np.isfinite(r["population"]) else int(r["population"]),
        "imd_decile": None if not np.isfinite(r["imd_decile"]) else int(r["imd_decile"]),
        "counts": [int(r[f"count_{s}"]) for s in themes],
    } for c, r in lsoa.iterrows()]
    locs = b.locations[b.locations["unit"] == code]
    locations = [{"n": k, "location": r.location, "crimes": int(r.crimes)} for k, r in enumerate(locs.itertuples(), 1)]
    # the priority ranking: this unit's row when the overlay ranks the same units, else the rows
    # of its LSOAs (the force's overlay ranks LSOAs)
    ov = profile.overlay
    key = ov.table.columns[0]
    table = ov.table
    if ov.unit == b.unit:
        rows = table[table[key] == code]
    elif ov.unit == "LSOA":
        rows = table[table[key].isin(lsoa_codes)].sort_values("rank")
    else:
        rows = table.iloc[0:0]
    priority = [{"code": r[key], "name": r["name"], "rank": int(r["rank"]), "bivariate": r["bivariate"],
                 "why": r["why"]} for _, r in rows.iterrows()]
    ranks = {p["code"]: p["rank"] for p in priority} if ov.unit == "LSOA" and b.unit != "LSOA" else {}
    for r in lsoa_rows:
        r["rank"] = ranks.get(r["code"])
    indicators = ov.indicators
    near = [c for c in indicators.columns if c.endswith("near hot cells") and ov.kinds.get(c) == "vulnerability"]
    near_rows = []
    if ov.unit == b.unit and code in indicators.index:
        for c in near:
            if c.split(" near hot cells")[0] in {l.label for l in profile.context.values() if l.sensitivity == "open"}:
                near_rows.append((c, int(indicators.at[code, c])))
    drawer_schools = _school_points(profile)
    schools = []
    school_xy = np.zeros((0, 2))
    if drawer_schools is not None:
        s = drawer_schools[drawer_schools["lsoa_code"].isin(lsoa_codes)].sort_values(["name", "id"])
        school_xy = shapely.get_coordinates(s.geometry.to_numpy())
        schools = [{"n": k, "name": r["name"], "category": r.get("category") or ""} for k, (_, r) in enumerate(s.iterrows(), 1)]
    restricted = []
    if profile.audience == "force" and len(b.restricted.columns):
        restricted = [(col, int(b.restricted.at[code, col])) for col in b.restricted.columns]
    labels = [(str(r["name"]).replace(f"{name} ", "") if str(r["name"]).startswith(f"{name} ") else str(r["name"]),
               *shapely.get_coordinates(shapely.point_on_surface(g))[0])
              for r, g in zip(lsoa_rows, lsoa.geometry.to_numpy()) if g is not None]
    points = locs[["x", "y"]].to_numpy(float)
    return {
        "code": code, "name": name, "polygon": polygon, "labels": labels, "points": points,
        "school_xy": school_xy, "lsoa_rows": lsoa_rows, "ranked_lsoas": bool(ranks),
        "theme_labels": [profile.themes[s].theme.label.split(" (")[0] for s in themes],
        "locations": locations, "priority": priority, "schools": schools, "near": near_rows,
        "restricted": restricted, "file": sheet_name(code, name), "Markup": Markup,
    }


def _common_context(profile: Profile, drawer: _MapDrawer) -> dict:
    from markupsafe import Markup

    b = profile.briefing
    open_layers = [l for l in profile.layers.values()
                   if l.spec.sensitivity == "open" and l.spec.adapter in ("police_uk_street", "lsoa_boundaries",
                                                                           "imd2019", "schools", "census2011_population")]
    return {
        "p": profile,
        "b": b,
        "period": months_text(profile.months),
        "dated": profile.generated,
        "units_total": len(b.codes),
        "overlay_total": len(profile.overlay.table),
        "look_for": _look_for_blocks(b.look_for),
        "attribution": [l.spec.attribution for l in open_layers],
        "legend": [(Markup(_legend_svg("outline")), f"the {b.unit}"),
                   (Markup(_legend_svg("lsoa")), "LSOA boundaries, by name"),
                   *[(Markup(_legend_svg("hatch", h)), label) for h, label in drawer.legend_hatches],
                   (Markup(_legend_svg("repeat")), "repeat locations of these themes"),
                   (Markup(_legend_svg("school")), "schools (S1, S2 ... as listed)"),
                   (Markup(_legend_svg("point")), "top map points (numbered as in the table)")],
        "dated_iso": _iso_date(profile.generated),
        "marking_css": Markup(css_string(profile.marking)),
        "force": profile.audience == "force",
    }


def css_string(text: str) -> str:
    """``text`` as the inside of a CSS string: every character but letters, digits, spaces and
    ``-._,:()/`` as a hex escape, so no text can close the string or the style element.

    >>> print(css_string('OFFICIAL "x" </style> end'))
    OFFICIAL \\000022 x\\000022  \\00003c /style\\00003e  end
    """
    return "".join(c if c.isalnum() and c.isascii() or c in " -._,:()/" else f"\\{ord(c):06x} " for c in str(text))


def _iso_date(generated: str) -> str:
    """The profile's generation date as the PDF's creation date (W3C date-time)."""
    from ..reproducible import gdal_timestamp

    return gdal_timestamp(generated).replace(".000Z", "Z")


def _pdf_identifier(html: str) -> bytes:
    return hashlib.md5(html.encode("utf-8")).hexdigest().encode("ascii")


def write_briefings(profile: Profile, out_dir: str | Path, neighbourhoods: Sequence[str] | None = None,
                    progress: Progress | None = None) -> dict[str, Path]:
    """Write one A4 briefing PDF per neighbourhood, and ``index.html`` listing them, into
    ``out_dir/briefings/``.

    Parameters
    ----------
    profile : Profile
        A built profile (force or partner audience, or a catalog without restricted layers).
    out_dir : path
        The output folder; the sheets go in its ``briefings`` subfolder.
    neighbourhoods : sequence of str, optional
        Codes or names of the neighbourhoods to print (default: all of the district's). With
        all of them, sheets in the folder for neighbourhoods no longer there are removed.
    progress : callable, optional
        Told of each sheet as it is written.

    Returns
    -------
    dict
        ``"briefings/<file>"`` -> path, for every sheet and the index.

    Examples
    --------
    >>> import tempfile
    >>> from localprofile.build import build_profile
    >>> from localprofile.demo import demo_catalog_path
    >>> p = build_profile(demo_catalog_path(), "Leeds", audience="partner")
    >>> sorted(write_briefings(p, tempfile.mkdtemp(), ["Leeds 086"]))
    ['briefings/E02002415-leeds-086.pdf', 'briefings/index.html']
    """
    import weasyprint

    check_briefing_audience(profile.audience)
    if profile.briefing is None:
        raise InputError("this profile has no briefing units (built without the briefing stage)")
    chosen = select_units(profile, neighbourhoods)
    out_dir = Path(out_dir)
    target = out_dir / BRIEFINGS_DIR
    target.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".localprofile-briefings-", dir=out_dir))
    say = progress or (lambda message: None)
    drawer = _MapDrawer(profile)
    common = _common_context(profile, drawer)
    template = _ENV.get_template("briefing.html.j2")
    fonts = weasyprint.text.fonts.FontConfiguration()
    stylesheet = weasyprint.CSS(string=_template("briefing.css"), font_config=fonts)
    sheets = []
    try:
        for n, i in enumerate(chosen, 1):
            ctx = _sheet_context(profile, i)
            say(f"briefing {n}/{len(chosen)}: {ctx['name']}")
            ctx["map"] = drawer.draw(ctx["polygon"], ctx["labels"], ctx["points"], ctx["school_xy"])
            html = template.render(**common, s=ctx)
            doc = weasyprint.HTML(string=html, base_url=None)
            doc.write_pdf(tmp / ctx["file"], stylesheets=[stylesheet], font_config=fonts,
                          pdf_identifier=_pdf_identifier(html), uncompressed_pdf=False)
            sheets.append(ctx)
        index = _ENV.get_template("briefing_index.html.j2").render(**common, sheets=sheets)
        (tmp / "index.html").write_text(index, encoding="utf-8")
        written = {}
        for f in sorted(tmp.iterdir()):
            os.replace(f, target / f.name)
            written[f"{BRIEFINGS_DIR}/{f.name}"] = target / f.name
        if neighbourhoods is None:  # a full set: no sheet of a neighbourhood no longer there
            for old in target.glob("*.pdf"):
                if f"{BRIEFINGS_DIR}/{old.name}" not in written:
                    old.unlink()
        return written
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
