"""The ``localprofile`` command line: ``demo``, ``build``, ``validate`` and ``themes``.

Bad input ends with one line on standard error and exit code 2, never a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
from enum import Enum
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from .catalog import AUDIENCES
from .errors import InputError
from .synthetic import SEED

app = typer.Typer(
    help="Serious and Organised Crime local profiles from police.uk, ONS, IMD and Census data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


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
            err.print(f"error: {where}{_one_line(exc.strerror or exc)}", markup=False)
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
                f"internal error: {type(exc).__name__}: {_one_line(exc)} "
                "(set LOCALPROFILE_DEBUG=1 for a traceback and report it)",
                markup=False,
            )
            raise typer.Exit(1) from None

    return wrapper


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "district"


def _build(catalog: Path, district: str, out_dir: Path | None, cell_size: float | None,
           bandwidth: float | None, audience: str | None = None, test_months: list[str] | None = None) -> Path:
    from .build import build_profile
    from .render import write_outputs

    # Progress is for people at a terminal; in a pipe or a log it would only add blank lines.
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
        console=err, transient=True, disable=not err.is_terminal,
    ) as progress:
        task = progress.add_task("loading catalog", total=None)
        profile = build_profile(
            catalog, district, audience=audience, cell_size=cell_size, bandwidth=bandwidth,
            test_months=test_months,
            progress=lambda msg: progress.update(task, description=msg),
        )
        target = out_dir or Path("out") / _slug(profile.district.name) / (audience or "")
        progress.update(task, description=f"writing outputs to {target}")
        written = write_outputs(profile, target)
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
    typer.Option("--cell-size", min=1, help="Grid cell size in metres (default: automatic)."),
]
Bandwidth = Annotated[
    float | None,
    typer.Option("--bandwidth", min=1, help="KDE bandwidth in metres (default: automatic per theme)."),
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


@app.command()
@handles_errors
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Output folder (one subfolder per audience).")] = Path("out/leeds-demo"),
) -> None:
    """Build the Leeds demo from the shipped data (real open data plus SYNTHETIC restricted
    layers) for each audience: force, partner and public. Prints the three index.html paths."""
    from .demo import DEMO_DISTRICT, demo_catalog_path

    for audience in AUDIENCES:
        index = _build(demo_catalog_path(), DEMO_DISTRICT, out_dir / audience, None, None, audience)
        out.print(str(index.resolve()), markup=False)


@app.command()
@handles_errors
def build(
    catalog: Annotated[Path, typer.Option("--catalog", help="The data catalog (YAML).")],
    district: Annotated[str, typer.Option("--district", help="Local authority name or code, e.g. Leeds or E08000035.")],
    out_dir: Annotated[Path | None, typer.Option("--out", help="Output folder (default: out/<district>).")] = None,
    audience: Audience = None,
    cell_size: CellSize = None,
    bandwidth: Bandwidth = None,
    test_months: Annotated[str | None, typer.Option(
        "--test-months", help="Backtest the hotspot methods on these months (trained on the others): a table in the profile.")] = None,
) -> None:
    """Build the profile of one district: index.html, summary.json, results.gpkg, kde_<theme>.tif."""
    from .fetch import parse_months

    index = _build(catalog, district, out_dir, cell_size, bandwidth, audience and audience.value,
                   parse_months(test_months) if test_months else None)
    out.print(str(index.resolve()), markup=False)


@app.command("backtest")
@handles_errors
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
) -> None:
    """Score hotspot methods (grid count, KDE, Gi*, prospective) trained on some months against
    later ones: hit rate, PAI, PEI and RRI. JSON on stdout; a table on stderr at a terminal."""
    import json

    from .backtesting import run_backtest
    from .fetch import parse_months

    try:
        cov = tuple(float(c) for c in coverages.split(","))
    except ValueError:
        raise InputError(f"coverages must be numbers such as 0.05, not '{coverages}'", key="--coverages") from None
    if not all(0 < c <= 1 for c in cov):
        raise InputError("coverages are shares of the area, between 0 and 1", key="--coverages")
    with err.status("backtesting") if err.is_terminal else contextlib.nullcontext():
        result = run_backtest(catalog, district, parse_months(train), parse_months(test), theme=theme,
                              coverages=cov, cell_size=cell_size, bandwidth=bandwidth,
                              audience=audience and audience.value)
    err.print(f"marking: {result['marking']}", markup=False)
    out.print(json.dumps(result, indent=2), markup=False)
    if err.is_terminal:
        table = Table("method", "coverage", "hit rate", "PAI", "PEI", "RRI",
                      title=f"{result['district']['name']}, {theme}: trained on {', '.join(result['train_months'])}, "
                      f"tested on {', '.join(result['test_months'])}")
        fmt = lambda v, f: "n/a" if v is None else format(v, f)  # noqa: E731
        for m in result["metrics"]:
            table.add_row(m["method"], f"{m['coverage']:.0%}", fmt(m["hit_rate"], ".1%"), fmt(m["pai"], ".2f"),
                          fmt(m["pei"], ".2f"), fmt(m["rri"], ".2f"))
        err.print(table)


@app.command()
@handles_errors
def synthesize(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the SYNTHETIC_*.csv files.")],
    catalog: Annotated[Path | None, typer.Option("--catalog", help="Catalog whose open layers place the records (default: the demo's).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = SEED,
) -> None:
    """Write SYNTHETIC restricted force layers (OCG members, CSE locations, vulnerable persons,
    repeat offenders) placed by population and deprivation at real postcodes. Not real data."""
    from .catalog import load_catalog
    from .demo import demo_catalog_path
    from .synthetic import generate

    for name, path in generate(load_catalog(catalog or demo_catalog_path()), out_dir, seed).items():
        out.print(f"{name}: {path}", markup=False)


@app.command()
@handles_errors
def validate(
    catalog: Annotated[Path, typer.Option("--catalog", help="The data catalog (YAML).")],
    audience: Audience = None,
) -> None:
    """Check a catalog: its keys, its files, and that every layer reads (with its record account,
    as --audience may see it: none for public, withheld for partners; force when not given)."""
    from .catalog import load_catalog
    from .stages.audience import audience_policy
    from .stages.inputs import load_inputs
    from .themes import resolve_themes

    cat = load_catalog(catalog)
    resolve_themes(cat.themes, cat.source)
    cat.roles()
    restricted = any(s.sensitivity == "restricted" for s in cat.layers.values())
    policy = audience_policy(cat, audience.value if audience else "force" if restricted else None)
    with err.status("reading layers"):
        summaries = load_inputs(cat, policy).summaries
    who = f" for {policy.audience}" + ("" if audience else " (no --audience given)") if policy.audience else ""
    table = Table("layer", "adapter", "files", "read", "used", "dropped",
                  title=f"{catalog}: valid{who}, {policy.marking}")
    num = lambda v: f"{v:,}" if isinstance(v, int) else str(v)  # noqa: E731
    for name, s in summaries.items():
        table.add_row(name, s.spec.adapter, str(len(s.files)), num(s.account.read),
                      num(s.account.used), num(s.account.n_dropped))
    out.print(table)


@app.command()
@handles_errors
def themes(
    catalog: Annotated[Path | None, typer.Option("--catalog", help="Include this catalog's themes.")] = None,
) -> None:
    """List the themes (slug, label, police.uk crime types)."""
    from .catalog import load_catalog
    from .themes import resolve_themes

    cat = load_catalog(catalog) if catalog else None
    table = Table("slug", "label", "crime types")
    for slug, t in resolve_themes(cat.themes if cat else {}, cat.source if cat else "defaults").items():
        table.add_row(slug, t.label, ", ".join(t.crime_types) or "all")
    out.print(table)


from .fetch import fetch_command  # noqa: E402  (the command body lives with the fetch code)

app.command("fetch")(handles_errors(fetch_command))


def main() -> None:
    try:
        app()
    except SystemExit as exc:  # click's usage errors already exit 2
        sys.exit(exc.code)


if __name__ == "__main__":
    main()
