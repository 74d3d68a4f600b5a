"""The command line talks: a progress display of the stages at a terminal, none with --quiet;
help texts whose sentences are whole; ``--out`` defaults that are where the outputs go."""

from __future__ import annotations

import importlib
import inspect
import io
import re

import pytest
from rich.console import Console
from typer.testing import CliRunner

import localprofile.console
from localprofile.cli import app, help_text

from conftest import CATALOG, run_cli, write_catalog

COMMANDS = ["demo", "build", "backtest", "validate", "synthesize", "themes", "fetch"]


@pytest.fixture
def terminal(monkeypatch) -> io.StringIO:
    """Standard error as a terminal would be (the progress display draws on it); what is drawn."""
    screen = io.StringIO()
    monkeypatch.setattr(localprofile.console, "err", Console(file=screen, force_terminal=True, width=120))
    return screen


def shown(screen: io.StringIO) -> str:
    """What the screen showed, without the terminal's control sequences."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())


def test_validate_shows_its_stages_at_a_terminal(terminal):
    res = run_cli("validate", "--catalog", str(CATALOG), "--audience", "force")
    assert res.returncode == 0, res.stderr
    screen = shown(terminal)
    for stage in ("loading catalog", "reading crimes", "reading lsoa_boundaries", "reading ocg_members"):
        assert stage in screen, f"{stage!r} not shown: {screen[:300]!r}"


def test_quiet_shows_no_progress_even_at_a_terminal(terminal):
    res = run_cli("validate", "--catalog", str(CATALOG), "--audience", "force", "--quiet")
    assert res.returncode == 0, res.stderr
    assert "55,713" in res.stdout  # the result is still printed
    assert shown(terminal) == "" and "reading" not in res.stderr


def test_no_progress_when_standard_error_is_not_a_terminal():
    # typer's runner gives the command a pipe-like stderr: no stage is drawn on it
    res = run_cli("validate", "--catalog", str(CATALOG), "--audience", "force")
    assert res.returncode == 0, res.stderr
    assert "loading catalog" not in res.stderr and "reading" not in res.stderr


@pytest.mark.parametrize("quiet", [False, True])
def test_backtest_shows_its_stages_unless_quiet(tmp_path, terminal, quiet):
    cat = write_catalog(tmp_path)  # open layers only
    res = run_cli("backtest", "--catalog", str(cat), "--district", "Calderdale", "--train", "2016-07",
                  "--test", "2017-07", "--theme", "drugs", *(["--quiet"] if quiet else []))
    assert res.returncode == 0, res.stderr
    assert '"test_months"' in res.stdout  # the JSON result either way
    screen = shown(terminal)
    if quiet:
        assert screen == ""
    else:
        assert "loading catalog" in screen and "reading crimes" in screen


def test_build_default_out_is_what_the_help_says_and_shows_each_stage(tmp_path, terminal):
    cat = write_catalog(tmp_path)  # open layers only: no --audience, so out/<district>
    res = run_cli("build", "--catalog", str(cat), "--district", "Calderdale", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    where = tmp_path / "out" / "calderdale"
    assert res.stdout.strip() == str((where / "index.html").resolve())
    assert {"index.html", "summary.json", "results.gpkg", "kde_all_crime.tif"} <= {f.name for f in where.iterdir()}
    assert f"files in {(where.relative_to(tmp_path)).as_posix()}" in res.stderr  # the summary line
    screen = shown(terminal)
    for stage in ("loading catalog", "reading crimes", "theme all_crime", "theme drugs",
                  "writing index.html", "writing results.gpkg", "writing GeoTIFFs"):
        assert stage in screen, f"{stage!r} not shown"
    help_ = _help("build")
    assert "Output folder (default: out/<district>/<audience>, e.g. out/leeds/partner; out/<district> without --audience)." in help_


def test_build_quiet_prints_only_the_path(tmp_path, terminal):
    cat = write_catalog(tmp_path)
    res = run_cli("build", "--catalog", str(cat), "--district", "Calderdale", "--audience", "public",
                  "--quiet", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    # with an audience the default folder is out/<district>/<audience>
    assert res.stdout.strip() == str((tmp_path / "out" / "calderdale" / "public" / "index.html").resolve())
    assert shown(terminal) == ""
    assert "files in" not in res.stderr and "reading" not in res.stderr  # no summary, no stages


def test_demo_out_default_is_what_the_help_says(monkeypatch, tmp_path):
    """The demo's folders without --out, without building it three times: the demo's builds are
    recorded (the real demo with its default runs in tests/test_reproducible.py)."""
    cli = importlib.import_module("localprofile.cli")
    calls = []

    def fake_build(catalog, district, out_dir, *args, **kwargs):
        calls.append(out_dir)
        return out_dir / "index.html"

    monkeypatch.setattr(cli, "_build", fake_build)
    res = run_cli("demo", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert [p.as_posix() for p in calls] == ["out/leeds-demo/force", "out/leeds-demo/partner", "out/leeds-demo/public"]
    assert "[default: out/leeds-demo]" in _help("demo")
    assert "Output folder, with one subfolder per audience (force, partner, public)." in _help("demo")


def _help(*cmd: str, width: int = 200) -> str:
    res = CliRunner().invoke(app, [*cmd, "--help"], env={"COLUMNS": str(width)})
    assert res.exit_code == 0, res.output
    return res.output


def _lines(text: str) -> list[str]:
    """The help's lines without the boxes' borders."""
    return [" ".join(line.strip(" │╭╮╰╯─").split()) for line in text.splitlines()]


@pytest.mark.parametrize("cmd", COMMANDS)
def test_help_paragraphs_are_whole_sentences(cmd):
    """Each paragraph of a command's help is printed whole (on one line when the terminal is wide
    enough), and ends a sentence: typer prints line breaks as they are, so a docstring sentence
    carried onto the next source line used to print broken mid-sentence."""
    fn = next(c.callback for c in app.registered_commands if (c.name or c.callback.__name__) == cmd)
    doc = help_text(inspect.getdoc(fn))
    lines = _lines(_help(cmd))
    for paragraph in doc.split("\n\n"):
        assert paragraph.endswith("."), f"{cmd}: {paragraph!r} does not end a sentence"
        assert paragraph in lines, f"{cmd}: {paragraph!r} is not printed whole"


def test_command_list_gives_each_command_a_whole_sentence():
    lines = _lines(_help())
    for c in app.registered_commands:
        name = c.name or c.callback.__name__
        first = help_text(inspect.getdoc(c.callback)).split("\n\n")[0]
        assert first.endswith(".")
        assert f"{name} {first}" in lines, f"{name}: {first!r} not whole in the command list"


def test_help_has_full_sentences_at_a_narrow_terminal():
    """At 80 columns, joined back, the help reads as the sentences written (nothing cut off)."""
    text = " ".join(" ".join(_lines(_help("demo", width=80))).split())
    assert ("Build the Leeds demo for the force, partner and public audiences. The demo uses the shipped "
            "data: real open data plus SYNTHETIC restricted layers. It prints the paths of the three "
            "index.html files.") in text
    for cmd in COMMANDS:
        assert "…" not in _help(cmd, width=80), f"{cmd}: help truncated at 80 columns"


def test_fetch_and_cli_do_not_import_each_other():
    import ast
    from pathlib import Path

    import localprofile

    src = Path(localprofile.__file__).parent
    for module, other in (("fetch", "cli"), ("console", "cli"), ("console", "fetch")):
        tree = ast.parse((src / f"{module}.py").read_text(encoding="utf-8"))
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert other not in imported, f"{module}.py imports {other}"
