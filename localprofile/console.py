"""What the commands print to: ``out`` (results, standard output), ``err`` (messages, standard
error), and the progress display of a command's stages.

Shared by :mod:`localprofile.cli` and :mod:`localprofile.fetch`, so neither imports the other.

The progress display is one line on standard error (a spinner, the stage now running, the time
since the command started) that is shown only at a terminal and never with ``--quiet``: in a pipe
or a log file it would only add noise. It is transient: when the command ends, the line is
replaced by the command's own one-line summary.

>>> with stages("loading catalog", quiet=True) as progress:
...     progress("reading crimes")            # the current stage; nothing is shown when quiet
>>> progress.seen
['loading catalog', 'reading crimes']
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


class StageProgress:
    """A ``progress(message)`` callback (:data:`localprofile.loading.Progress`) that names the
    stage now running on the display; ``seen`` lists every stage in order."""

    def __init__(self, bar: Progress, first: str, prefix: str = "") -> None:
        self._bar, self._prefix = bar, prefix
        self._task = bar.add_task(prefix + first, total=None)
        self.seen = [first]

    def __call__(self, message: str) -> None:
        self.seen.append(message)
        # drawn at once: a stage is worth showing however short (and a test can see each one)
        self._bar.update(self._task, description=self._prefix + message, refresh=True)


@contextlib.contextmanager
def stages(first: str, *, quiet: bool = False, prefix: str = "",
           console: Console | None = None) -> Iterator[StageProgress]:
    """A progress display of a command's stages, starting with stage ``first``.

    Yields the callback the build, validation and backtest stages call with each new stage's
    name. ``prefix`` is put before every stage (the audience, in ``demo``). Nothing is drawn when
    ``quiet`` or when ``console`` (standard error by default) is not a terminal.
    """
    console = console or err
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
        console=console, transient=True, disable=quiet or not console.is_terminal,
    ) as bar:
        yield StageProgress(bar, first, prefix)
