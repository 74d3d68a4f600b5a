"""The ``localprofile`` command line: ``demo``, ``build``, ``build-all``, ``briefings``, ``backtest``,
``validate``, ``synthesize``, ``themes`` and ``fetch``.

Results go to standard output; messages to standard error: a progress display of the command's
stages at a terminal (none in a pipe or with ``--quiet``, see :mod:`localprofile.console`) and a
one-line summary. Bad input ends with one line on standard error and exit code 2, never a
traceback.

Help texts: typer takes a command's first docstring paragraph (one line here, a whole sentence)
for the list of commands, and rewraps the other paragraphs to the terminal's width.
"""

from __future__ import annotations

from . import collect_less

collect_less()  # before the imports below: they make 100,000 objects

import functools  # noqa: E402
import inspect  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from enum import Enum  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Annotated, Any  # noqa: E402

import typer  # noqa: E402
from rich.table import Table  # noqa: E402

from .catalog import AUDIENCES  # noqa: E402
from .console import err, out, stages  # noqa: E402
from .errors import InputError, one_line  # noqa: E402
from .synthetic import SEED  # noqa: E402

app = typer.Typer(
    help="Serious and Organised Crime local profiles from police.uk, ONS, IMD and Census data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def handles_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn user errors into one line and exit code 2; internal errors into one line and 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            err.print(f"error: {exc}", markup=False)
            raise typer.Exit(2) from None
        except OSError as exc:  # unreadable input, unwritable output folder, full disk
            where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
            err.print(f"error: {where}{one_line(exc.strerror or exc)}", markup=False)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err.print("interrupted", markup=False)
            raise typer.Exit(130) from None
        except typer.Exit:
            raise
        except Exception as exc:  # a bug: say so in one line; LOCALPROFILE_DEBUG=1 shows it all
            if os.environ.get("LOCALPROFILE_DEBUG"):
                raise
            err.print(
                f"internal error: {type(exc).__name__}: {one_line(exc)} "
                "(set LOCALPROFILE_DEBUG=1 for a traceback and report it)",
                markup=False,
            )
            raise typer.Exit(1) from None

    return wrapper


def command(name: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a command of the app, its errors handled (:func:`handles_errors`) and its
    docstring as its help, each paragraph on one line.

    typer prints a help text's line breaks as they are, so a docstring sentence that continues on
    the next source line would print broken at a terminal of any other width; joined, rich wraps
    each paragraph to the terminal.
    """

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        return app.command(name, help=help_text(fn.__doc__ or ""))(handles_errors(fn))

    return register


def help_text(doc: str) -> str:
    """A docstring as help: its paragraphs, each joined onto one line.

    >>> help_text('''Build it.
    ...
    ...     The demo uses
    ...     the shipped data.
    ...     ''')
    'Build it.\\n\\nThe demo uses the shipped data.'
    """
    return "\n\n".join(" ".join(p.split()) for p in inspect.cleandoc(doc).split("\n\n") if p.strip())


def default_out(district_name: str, audience: str | None, root: Path = Path("out")) -> Path:
    """Where ``build`` writes without ``--out``: out/<district>/<audience>, or out/<district>
    without an audience (the district's name in lower case, words joined by "-"); a build of
    several districts writes each so under its ``root``.

    >>> default_out("Leeds", "partner").as_posix(), default_out("Kingston upon Hull", None).as_posix()
    ('out/leeds/partner', 'out/kingston-upon-hull')
    """
    from .batch import slug

    return root / slug(district_name) / (audience or "")


def _build(catalog: Path, district: str, out_dir: Path | None, cell_size: float | None,
           bandwidth: float | None, audience: str | None = None, test_months: list[str] | None = None,
           *, quiet: bool = False, prefix: str = "", root: Path = Path("out"), briefings: bool = False,
           cache: Path | None = None) -> Path:
    from . import cache as layer_cache
    from .batch import Options, build_district, freeze_imports

    freeze_imports()
    layer_cache.use_cache(cache)
    options = Options(audience, cell_size, bandwidth, tuple(test_months) if test_months else None, briefings)
    with stages("loading catalog", quiet=quiet, prefix=prefix) as progress:
        profile, written = build_district(catalog, district, lambda p: out_dir or default_out(p.district.name, audience, root),
                                          options, progress)
    target = written["index.html"].parent
    if not quiet:
        err.print(
            f"{profile.district.name} ({profile.district.code}"
            f"{', for ' + audience if audience else ''}, {profile.marking}): "
            f"{profile.crimes:,} crime and ASB records, "
            f"{len(profile.themes)} themes, {len(written)} files in {target}",
            markup=False,
        )
    return written["index.html"]


CellSize = Annotated[
    float | None,
    typer.Option("--cell-size", help="Grid cell size in metres (default: automatic)."),
]
Bandwidth = Annotated[
    float | None,
    typer.Option("--bandwidth", help="KDE bandwidth in metres (default: automatic per theme)."),
]
TestMonths = Annotated[
    str | None,
    typer.Option("--test-months", help="Backtest the hotspot methods on these months (trained on the "
                 "others): a table in the profile."),
]
Quiet = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="Show no progress and no summary on standard error; errors "
                 "are still shown. Progress is only ever shown at a terminal."),
]


AudienceName = Enum("AudienceName", {a: a for a in AUDIENCES}, type=str)
Audience = Annotated[
    AudienceName | None,
    typer.Option(
        "--audience",
        help="Who the outputs are for: force (restricted layers as points), partner (restricted "
        "layers as suppressed neighbourhood counts) or public (no restricted layers). Required "
        "when the catalog holds restricted layers.",
    ),
]
Briefings = Annotated[
    bool,
    typer.Option("--briefings", help="Also write the PCSO briefing sheets (one A4 PDF per "
                 "neighbourhood, in briefings/; force and partner audiences)."),
]
DEMO_OUT = Path("out/leeds-demo")


@command()
def demo(
    out_dir: Annotated[Path, typer.Option(
        "--out", help="Output folder, with one subfolder per audience (force, partner, public).")] = DEMO_OUT,
    quiet: Quiet = False,
) -> None:
    """Build the Leeds demo for the force, partner and public audiences.

    The demo uses the shipped data: real open data plus SYNTHETIC restricted layers. It prints
    the paths of the three index.html files.

    The force and partner folders also hold PCSO briefing sheets (briefings/).
    """
    from .demo import DEMO_BRIEFINGS, DEMO_DISTRICT, demo_catalog_path

    for i, audience in enumerate(AUDIENCES, 1):
        index = _build(demo_catalog_path(), DEMO_DISTRICT, out_dir / audience, None, None, audience,
                       quiet=quiet, prefix=f"{audience} ({i}/{len(AUDIENCES)}): ",
                       briefings=audience in DEMO_BRIEFINGS)
        out.print(str(index.resolve()), markup=False)


def _catalog_districts(catalog: Path) -> list[str]:
    """The names of every district (local authority) in the catalog's LSOA lookup."""
    from .batch import lookup_frame
    from .catalog import load_catalog

    return sorted(lookup_frame(load_catalog(catalog))["lad_name"].dropna().unique())


def _run_batch(catalog: Path, root: Path, *, force: str | None = None, districts: list[str] | None = None,
               options, quiet: bool, **how) -> None:
    """Build a batch of districts (:func:`localprofile.batch.build_all`): each district's
    index.html and then the front page on standard output, a line per district on standard
    error as it finishes; exit code 2 when a district failed on bad input, 1 on a bug."""
    from .batch import build_all

    def done(o) -> None:
        if o.status == "failed":
            err.print(f"{o.name} ({o.code}): FAILED: {o.error}", markup=False)
        elif not quiet:
            err.print(f"{o.name} ({o.code}): {o.status}, in {root / o.folder}", markup=False)

    report = build_all(catalog, root, force=force, districts=districts, options=options, on_done=done, **how)
    for o in report.outcomes:
        if o.status != "failed":
            out.print(str((root / o.folder / "index.html").resolve()), markup=False)
    out.print(str(report.front_page.resolve()), markup=False)
    if report.failed:
        err.print(f"error: {len(report.failed)} of {len(report.outcomes)} districts failed ("
                  + ", ".join(o.name for o in report.failed) + f"); the front page names them: {report.front_page}",
                  markup=False)
        raise typer.Exit(report.exit_code)
    if not quiet:
        built = sum(o.status == "built" for o in report.outcomes)
        err.print(f"{len(report.outcomes)} districts ({built} built, {len(report.outcomes) - built} up to date); "
                  f"front page {report.front_page}", markup=False)


@command()
def build(
    catalog: Annotated[Path, typer.Option("--catalog", help="The data catalog (YAML).")],
    district: Annotated[list[str], typer.Option(
        "--district", help="Local authority name or code, e.g. Leeds or E08000035. Repeat it, or "
        "give 'all' (every district in the catalog's lookup), to build several with a front page.")],
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Output folder (default: out/<district>/<audience>, e.g. out/leeds/partner; "
        "out/<district> without --audience). With several districts, the folder that holds "
        "<district>/<audience> for each and the front page index.html (default: out).")] = None,
    audience: Audience = None,
    cell_size: CellSize = None,
    bandwidth: Bandwidth = None,
    test_months: TestMonths = None,
    briefings: Briefings = False,
    cache: Annotated[Path | None, typer.Option(
        "--cache", help="Keep the parsed inputs (GeoParquet) in this folder and read them from it on the next build: after a new month, only that month is parsed (default: none; build-all's default is ~/.cache/localprofile).")] = None,
    quiet: Quiet = False,
) -> None:
    """Build the profile of one district, or of several with a front page.

    It writes index.html, summary.json, results.gpkg and GeoTIFFs (kde_<theme>.tif and others)
    and prints the path of index.html. With --briefings, also the PCSO briefing sheets.

    With several districts (--district repeated, or all), each goes to <out>/<district>/<audience>.

    A front page, <out>/index.html, then lists them with their key figures and links to each.
    """
    from .fetch import parse_months

    months = parse_months(test_months) if test_months else None
    if len(district) > 1 or [d.casefold() for d in district] == ["all"]:
        if "all" in [d.casefold() for d in district] and len(district) > 1:
            raise InputError("--district all builds every district: give it alone", key="--district")
        from .batch import Options

        _run_batch(catalog, out_dir or Path("out"), districts=_catalog_districts(catalog) if len(district) == 1 else district,
                   options=Options(audience and audience.value, cell_size, bandwidth, tuple(months) if months else None,
                                   briefings), quiet=quiet, serial=True, cache=_cache_folder(cache))
        return
    index = _build(catalog, district[0], out_dir, cell_size, bandwidth, audience and audience.value,
                   months, quiet=quiet, briefings=briefings, cache=_cache_folder(cache))
    out.print(str(index.resolve()), markup=False)


def _cache_folder(path: Path | None) -> Path | None:
    """``--cache``'s folder, checked before any build: a file there is an error naming it."""
    if path is not None and path.exists() and not path.is_dir():
        raise InputError("the input cache must be a folder; this is a file", file=path, key="--cache")
    return path


def _default_cache() -> Path:
    """Where build-all keeps parsed inputs: $XDG_CACHE_HOME/localprofile (~/.cache/localprofile)."""
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or Path.home() / ".cache"
    return Path(base) / "localprofile"


@command("build-all")
def build_all_command(
    catalog: Annotated[Path, typer.Option("--catalog", help="The data catalog (YAML).")],
    out_dir: Annotated[Path, typer.Option(
        "--out", help="Output folder: <district>/<audience> for each district, the front page index.html and build-all.json.")],
    force: Annotated[str | None, typer.Option(
        "--force", help="Build every district of this police force in the catalog's LSOA lookup, e.g. 'West Yorkshire'.")] = None,
    districts: Annotated[str | None, typer.Option(
        "--districts", help="Or these districts, by name or code, comma-separated: Leeds,Bradford or E08000035,E08000032.")] = None,
    audience: Audience = None,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="Address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: a LocalCluster on this machine).")] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, help="Worker processes of the LocalCluster (default: one per usable core).")] = None,
    serial: Annotated[bool, typer.Option(
        "--serial", help="Build the districts one after the other in this process, without Dask.")] = False,
    cache: Annotated[Path | None, typer.Option(
        "--cache", help="Folder of parsed inputs (GeoParquet) shared by runs (default: ~/.cache/localprofile).")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Keep no parsed inputs on disk.")] = False,
    cell_size: CellSize = None,
    bandwidth: Bandwidth = None,
    test_months: TestMonths = None,
    briefings: Briefings = False,
    quiet: Quiet = False,
) -> None:
    """Build every district of a force, or a list of districts, in parallel on Dask.

    Each district's profile goes to <out>/<district>/<audience>, the same files as localprofile build writes; the front page <out>/index.html links them and names any district whose build failed.

    A failed district does not stop the others; the exit code is then 2 (1 if it was a bug). A re-run rebuilds only the districts that failed or whose inputs, catalog or options changed (build-all.json keeps the record).

    Parsed inputs are cached as GeoParquet, keyed by each file's path and content hash, its catalog entry and localprofile's code, so a rebuild after adding a month parses only that month. Restricted layers are never cached.
    """
    from .batch import Options
    from .fetch import parse_months

    if (force is None) == (districts is None):
        raise InputError("give one of --force NAME or --districts A,B,...", key="--districts")
    if scheduler and serial:
        raise InputError("--serial builds without Dask: drop --scheduler or --serial", key="--scheduler")
    months = parse_months(test_months) if test_months else None
    options = Options(audience and audience.value, cell_size, bandwidth, tuple(months) if months else None, briefings)
    _run_batch(catalog, out_dir, force=force, districts=districts.split(",") if districts else None,
               options=options, quiet=quiet, scheduler=scheduler, workers=workers, serial=serial,
               cache=None if no_cache else _cache_folder(cache or _default_cache()))


@command("national")
def national_command(
    catalog: Annotated[Path, typer.Option("--catalog", help="The data catalog (YAML): its crimes layer (police.uk street-level files of one force or all 43), LSOA boundaries and census population.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Output folder: national_grid.tif, lsoa_crimes.csv, national.json.")],
    cell_size: Annotated[float, typer.Option("--cell-size", min=10.0, help="Grid cell size in metres.")] = 250.0,
    bandwidth: Annotated[float | None, typer.Option(
        "--bandwidth", help="KDE bandwidth in metres (default: automatic, from the crimes' map points).")] = None,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="Address of a running Dask scheduler to read the files on, e.g. tcp://10.0.0.5:8786 (default: threads on this machine); its workers must see the same paths.")] = None,
    quiet: Quiet = False,
) -> None:
    """The national picture: every street-level crime of the catalog's police.uk files on one grid over its LSOAs.

    Writes crimes per cell, Gi* z and hot and cold spots (Benjamini-Hochberg q < 0.05) and the KDE as the four bands of national_grid.tif, crimes and the rate per 1,000 residents for every LSOA in lsoa_crimes.csv, and the record account, choices and top LSOAs in national.json. Open data only: restricted layers are never read.

    The files are read in partitions, one Dask task per file, only the four columns used, so a national year (about 6 million rows in 516 files) is held in a few hundred megabytes.
    """
    from .national_build import build_national
    from .render.national import write_national

    from .batch import connect

    client = connect(scheduler) if scheduler else None
    try:
        nat = build_national(catalog, cell_size=cell_size, bandwidth=bandwidth, scheduler=None if client else "threads")
    finally:
        if client is not None:
            client.close()
    written = write_national(nat, out_dir)
    if not quiet:
        p = nat.points
        err.print(f"{p.read:,} rows read from {p.files:,} files: {len(p.x):,} crimes used, "
                  f"{sum(p.dropped.values()):,} dropped; {int((nat.run.hotspot == 'hot').sum()):,} hot cells; "
                  f"written to {out_dir} ({', '.join(written)})", markup=False)


@command("briefings")
def briefings_command(
    catalog: Annotated[Path, typer.Option("--catalog", help="The data catalog (YAML).")],
    district: Annotated[str, typer.Option("--district", help="Local authority name or code, e.g. Leeds or E08000035.")],
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Output folder; the sheets go in its briefings/ subfolder (default: "
        "out/<district>/<audience>).")] = None,
    audience: Audience = None,
    neighbourhood: Annotated[list[str] | None, typer.Option(
        "--neighbourhood", help="A neighbourhood to print, by code or name (e.g. E02002415 or "
        "'Leeds 086'); repeat it for more (default: every neighbourhood of the district).")] = None,
    quiet: Quiet = False,
) -> None:
    """Write printed PCSO briefing sheets: one A4 PDF per neighbourhood.

    Each sheet has a map, the top named map points, key facts, the priority rank and its
    drivers, and what to look for; the marking is on every page. The sheets and an index.html
    go in the briefings/ subfolder of the output folder; it prints the path of that index.

    Sheets are for the force (restricted counts included) and partners (open data only); public
    outputs have none.
    """
    from .build import build_profile
    from .render.briefings import check_briefing_audience, select_units, write_briefings

    aud = audience and audience.value
    check_briefing_audience(aud)
    with stages("loading catalog", quiet=quiet) as progress:
        profile = build_profile(catalog, district, audience=aud, progress=progress)
        select_units(profile, neighbourhood or None)  # a bad name stops before any sheet is drawn
        target = out_dir or default_out(profile.district.name, aud)
        written = write_briefings(profile, target, neighbourhood or None, progress=progress)
    if not quiet:
        err.print(f"{profile.district.name} ({profile.district.code}{', for ' + aud if aud else ''}, "
                  f"{profile.marking}): {len(written) - 1} briefing sheets in {target / 'briefings'}",
                  markup=False)
    out.print(str(written["briefings/index.html"].resolve()), markup=False)


@command("backtest")
def backtest_command(
    catalog: Annotated[Path, typer.Option("--catalog", help="The data catalog (YAML).")],
    district: Annotated[str, typer.Option("--district", help="Local authority name or code.")],
    train: Annotated[str, typer.Option("--train", help="Training months: YYYY-MM, comma-separated, or a range 2016-01..2016-06.")],
    test: Annotated[str, typer.Option("--test", help="Test months, likewise.")],
    theme: Annotated[str, typer.Option("--theme", help="Theme to score.")] = "all_crime",
    coverages: Annotated[str, typer.Option("--coverages", help="Shares of the district's area, comma-separated.")] = "0.01,0.05,0.10",
    cell_size: CellSize = None,
    bandwidth: Bandwidth = None,
    audience: Audience = None,
    quiet: Quiet = False,
) -> None:
    """Score hotspot methods trained on some months against later months.

    The methods are grid counts, KDE, Gi*, prospective hotspots and the risk terrain (RTM); the
    scores are hit rate, PAI, PEI and RRI.

    The risk terrain's factors are the point layers the audience may use. The result is JSON on
    standard output, and a table on standard error at a terminal.
    """
    import json

    from .backtesting import run_backtest
    from .fetch import parse_months

    try:
        cov = tuple(float(c) for c in coverages.split(","))
    except ValueError:
        raise InputError(f"coverages must be numbers such as 0.05, not '{coverages}'", key="--coverages") from None
    if not all(0 < c <= 1 for c in cov):
        raise InputError("coverages are shares of the area, between 0 and 1", key="--coverages")
    with stages("loading catalog", quiet=quiet) as progress:
        result = run_backtest(catalog, district, parse_months(train), parse_months(test), theme=theme,
                              coverages=cov, cell_size=cell_size, bandwidth=bandwidth, progress=progress,
                              audience=audience and audience.value)
    out.print(json.dumps(result, indent=2), markup=False)
    if not quiet:
        err.print(f"{result['district']['name']} backtest ({result['marking']})", markup=False)
    if err.is_terminal and not quiet:
        table = Table("method", "coverage", "hit rate", "PAI", "PEI", "RRI",
                      title=f"{result['district']['name']}, {theme}: trained on {', '.join(result['train_months'])}, "
                      f"tested on {', '.join(result['test_months'])}")
        fmt = lambda v, f: "n/a" if v is None else format(v, f)  # noqa: E731
        for m in result["metrics"]:
            table.add_row(m["method"], f"{m['coverage']:.0%}", fmt(m["hit_rate"], ".1%"), fmt(m["pai"], ".2f"),
                          fmt(m["pei"], ".2f"), fmt(m["rri"], ".2f"))
        err.print(table)


@command()
def synthesize(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the SYNTHETIC_*.csv files.")],
    catalog: Annotated[Path | None, typer.Option("--catalog", help="Catalog whose open layers place the records (default: the demo's).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = SEED,
) -> None:
    """Write SYNTHETIC restricted force layers for a demo.

    The layers (OCG members, CSE locations, vulnerable persons, repeat offenders) are placed by
    population and deprivation at real postcodes. They are not real data.
    """
    from .catalog import load_catalog
    from .demo import demo_catalog_path
    from .synthetic import generate

    for name, path in generate(load_catalog(catalog or demo_catalog_path()), out_dir, seed).items():
        out.print(f"{name}: {path}", markup=False)


@command()
def validate(
    catalog: Annotated[Path, typer.Option("--catalog", help="The data catalog (YAML).")],
    audience: Audience = None,
    quiet: Quiet = False,
) -> None:
    """Check a catalog: its keys, its files, and that every layer reads.

    It prints a table of the layers with their record account (rows read, used and dropped).

    With restricted layers, --audience says whose view to check: public does not read them.
    """
    from .catalog import load_catalog
    from .stages.audience import audience_policy
    from .stages.inputs import load_inputs
    from .themes import resolve_themes

    with stages("loading catalog", quiet=quiet) as progress:
        cat = load_catalog(catalog)
        resolve_themes(cat.themes, cat.source)
        cat.roles()
        if cat.profile.scoring:  # the force's theme scores: read (and checked) as a build reads them
            from .scoring import load_scoring

            load_scoring(cat.base_dir / cat.profile.scoring)
        if cat.profile.plan:  # the 4P plan's text, checked as a build checks it
            from .stages.action_plan import read_plan

            read_plan(cat, resolve_themes(cat.themes, cat.source))
        policy = audience_policy(cat, audience and audience.value)
        summaries = load_inputs(cat, policy, progress).summaries
    table = Table("layer", "adapter", "files", "read", "used", "dropped",
                  title=f"{catalog}: valid ({policy.marking})")
    num = lambda v: v if isinstance(v, str) else f"{v:,}"  # noqa: E731  ("withheld" for partners)
    for name, s in summaries.items():
        table.add_row(name, s.spec.adapter, "withheld" if s.files == ["withheld"] else str(len(s.files)),
                      num(s.account.read), num(s.account.used), num(s.account.n_dropped))
    out.print(table)
    for w in validation_warnings(summaries):  # what the analyst must act on, as the build says it
        err.print(f"warning: {w}", markup=False)
    if not quiet:
        err.print(f"{catalog}: valid; marking {policy.marking}", markup=False)


def validation_warnings(summaries) -> list[str]:
    """Layers or files without a row, and files cut off mid-row: valid, but the analyst should
    know (and perhaps download again) before building."""
    warnings = []
    for name, s in summaries.items():
        for f in s.meta.get("empty_files", []):
            warnings.append(f"{f}: 0 rows (only a header), in layer '{name}'")
        for reason, n in s.account.dropped.items():
            if reason.startswith("truncated row: "):
                warnings.append(f"{reason.removeprefix('truncated row: ')}: its last row is dropped, in layer '{name}'")
        if s.account.read == 0:
            warnings.append(f"layer '{name}': 0 rows in {', '.join(s.files)}")
    return warnings


@command()
def themes(
    catalog: Annotated[Path | None, typer.Option("--catalog", help="Include this catalog's themes.")] = None,
) -> None:
    """List the themes: slug, label and police.uk crime types."""
    from .catalog import load_catalog
    from .themes import resolve_themes

    cat = load_catalog(catalog) if catalog else None
    table = Table("slug", "label", "crime types")
    for slug, t in resolve_themes(cat.themes if cat else {}, cat.source if cat else "defaults").items():
        table.add_row(slug, t.label, ", ".join(t.crime_types) or "all")
    out.print(table)


from .fetch import fetch_command  # noqa: E402  (the command body lives with the fetch code)

command("fetch")(fetch_command)


def main() -> None:
    # A blank SOURCE_DATE_EPOCH means "not set" (reproducible-builds.org); numpy.f2py, imported
    # lazily by a dependency, would fail on it with int(""), so it is cleared here.
    if os.environ.get("SOURCE_DATE_EPOCH") is not None and not os.environ["SOURCE_DATE_EPOCH"].strip():
        del os.environ["SOURCE_DATE_EPOCH"]
    try:  # typer 0.24 and later carry their own copy of click, whose errors it does not re-export
        from typer._click import exceptions as cli_errors
    except ImportError:
        from click import exceptions as cli_errors
    no_command = getattr(cli_errors, "NoArgsIsHelpError", ())  # click 8.2 and later raise it

    try:
        code = app(standalone_mode=False)  # click's errors come here, not to its boxed usage text
    except no_command:  # no command given: the help, as before
        app(["--help"], standalone_mode=False)
        sys.exit(2)
    except cli_errors.UsageError as exc:  # a missing option, a value out of range, no such command
        hint = f" (see: {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
        err.print(f"error: {one_line(exc.format_message())}{hint}", markup=False, highlight=False)
        sys.exit(exc.exit_code)
    except cli_errors.ClickException as exc:
        err.print(f"error: {one_line(exc.format_message())}", markup=False, highlight=False)
        sys.exit(exc.exit_code)
    except cli_errors.Abort:
        err.print("aborted", markup=False)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)  # a command's typer.Exit(n) comes back as n


if __name__ == "__main__":
    main()
