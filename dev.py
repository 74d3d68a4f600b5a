#!/usr/bin/env python3
"""The README's two commands, needing only Python >= 3.11 and pip.

    python3 dev.py demo   # build the Leeds demo profile from the shipped data; prints index.html
    python3 dev.py test   # run the whole test suite

Both create (once) a virtual environment in .venv and install localprofile into it with its test
dependencies. Standard library only, so it runs before anything is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("LOCALPROFILE_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".localprofile-installed"


def run(*cmd: str | Path) -> None:
    result = subprocess.run([str(c) for c in cmd], cwd=ROOT)
    if result.returncode:
        sys.exit(result.returncode)


def ensure_venv() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"localprofile needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    deps = (ROOT / "pyproject.toml").stat().st_mtime
    if STAMP.exists() and STAMP.stat().st_mtime >= deps:
        return
    if PY.exists() and subprocess.run([str(PY), "-m", "pip", "--version"], capture_output=True).returncode:
        shutil.rmtree(VENV)  # a half-made environment without pip: start again
    if not PY.exists():
        print(f"creating virtual environment {VENV}", flush=True)
        try:
            venv.EnvBuilder(with_pip=True).create(VENV)
        except Exception as exc:  # e.g. Debian without python3-venv
            sys.exit(f"could not create a virtual environment ({exc}); install python3-venv")
    print("installing localprofile and its test dependencies", flush=True)
    run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    # setuptools says, as a warning, that an editable install uses a meta path finder (it has to:
    # layers/ and templates/ are mapped into the package); that is information, not a fault.
    env = dict(os.environ, PYTHONWARNINGS="ignore:Editable installation")
    result = subprocess.run([str(PY), "-m", "pip", "install", "--quiet", "-e", ".[test]"], cwd=ROOT, env=env)
    if result.returncode:
        sys.exit(result.returncode)
    STAMP.touch()


def ensure_browser() -> None:
    """The browser test needs Chromium: a system one if present, else Playwright's own."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return
    if os.environ.get("LOCALPROFILE_CHROMIUM"):
        return
    print("no Chromium found: installing Playwright's Chromium for the browser test", flush=True)
    result = subprocess.run([str(PY), "-m", "playwright", "install", "chromium"], cwd=ROOT,
                            capture_output=True, text=True)
    if result.returncode:  # offline, or no build for this platform: one line, not Node's trace
        sys.exit("the browser tests need Chromium and none could be installed: run "
                 "`apt-get install chromium` (or set LOCALPROFILE_CHROMIUM to a Chromium binary)")


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in {"demo", "test"}:
        sys.exit(__doc__)
    ensure_venv()
    if argv[0] == "demo":
        run(BIN / "localprofile", "demo", *argv[1:])
    else:
        ensure_browser()
        # one worker per core (pytest-xdist); the fixtures that build a profile are built once
        # per worker, and a module marked xdist_group runs on one worker, so its fixtures are
        # built once. Arguments given are passed on (-n 0 runs in this one process).
        workers = [] if any(a == "-n" or a.startswith(("-n", "--numprocesses")) for a in argv[1:]) else [
            "-n", "auto", "--dist", "loadgroup"]
        run(PY, "-m", "pytest", *workers, *argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
