"""Build every district of a force, or a list of districts, in one run: ``build-all``.

Each district is one task: build its profile and write its outputs into
``<out>/<district>/<audience>``, exactly as ``localprofile build`` would. The tasks run in
parallel on Dask — a ``LocalCluster`` of one single-threaded worker process per usable core by
default, or an existing cluster given by its scheduler's address — and the biggest districts
start first. A district whose build fails does not stop the others: its error is kept, shown on
the front page (``<out>/index.html``) and in the exit status.

``<out>/build-all.json`` records, per district, the key of what it was built from (localprofile's
code, the catalog, every input file's bytes, the options): a re-run rebuilds only the districts
whose key changed or whose build failed, and leaves the others' files as they are.

>>> import tempfile
>>> from localprofile.demo import demo_catalog_path
>>> tasks = plan_batch(demo_catalog_path(), force="West Yorkshire")
>>> [t.name for t in tasks]                  # biggest first
['Leeds', 'Bradford', 'Kirklees', 'Wakefield', 'Calderdale']
>>> with tempfile.TemporaryDirectory() as tmp:
...     report = build_all(demo_catalog_path(), tmp, districts=["Calderdale"], audience="public", serial=True)
...     [(o.name, o.status, o.folder) for o in report.outcomes], report.exit_code
([('Calderdale', 'built', 'calderdale/public')], 0)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from .catalog import Catalog, load_catalog
from .errors import InputError, one_line

MANIFEST = "build-all.json"


def slug(text: str) -> str:
    """A district's folder name: lower case, words joined by "-".

    >>> slug("Kingston upon Hull")
    'kingston-upon-hull'
    """
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "district"


@dataclasses.dataclass(frozen=True)
class Options:
    """What every district of a batch is built with (as ``localprofile build`` takes them)."""

    audience: str | None = None
    cell_size: float | None = None
    bandwidth: float | None = None
    test_months: tuple[str, ...] | None = None
    briefings: bool = False


@dataclasses.dataclass(frozen=True)
class Task:
    """One district to build: its name and code from the catalog's lookup, its size (LSOAs, for
    the order), its output folder relative to the batch's root and the key of its inputs."""

    name: str
    code: str
    lsoas: int
    folder: str
    key: str = ""


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What became of one district: ``built``, ``up to date`` (kept from an earlier run) or
    ``failed`` with its one-line ``error`` and its ``kind`` (input: bad data, exit code 2;
    internal: a bug, exit code 1)."""

    name: str
    code: str
    folder: str
    status: str
    key: str
    error: str | None = None
    kind: str | None = None


@dataclasses.dataclass(frozen=True)
class BatchReport:
    """The outcomes of a batch in the tasks' order, and the front page written."""

    outcomes: list[Outcome]
    front_page: Path

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def exit_code(self) -> int:
        """0 when every district has its profile; 1 if a build hit a bug; else 2 (bad input)."""
        kinds = {o.kind for o in self.failed}
        return 0 if not kinds else 1 if "internal" in kinds else 2


def lookup_frame(catalog: Catalog):
    """The catalog's LSOA lookup, read alone: one row per LSOA with lad_code, lad_name and
    force_name."""
    from .loading import load_layers

    lookup = catalog.roles()["lookup"]
    return load_layers(catalog, skip=set(catalog.layers) - {lookup})[lookup].frame


def plan_batch(catalog: Catalog | str | Path, *, force: str | None = None,
               districts: list[str] | None = None, audience: str | None = None) -> list[Task]:
    """The districts to build, biggest (most LSOAs) first: every district of ``force`` in the
    catalog's lookup, or ``districts`` by name or code. Unknown names are an error that lists
    the lookup's districts (or forces)."""
    cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    frame = lookup_frame(cat)
    lads = frame.dropna(subset=["lad_code"]).groupby(["lad_code", "lad_name"], dropna=False)
    sizes = lads.size()
    if force is not None:
        if "force_name" not in frame or frame["force_name"].isna().all():
            raise InputError("the catalog's LSOA lookup has no police force column: give --districts",
                             file=cat.source, key="--force")
        forces = sorted(frame["force_name"].dropna().unique())
        match = [f for f in forces if f.casefold() == force.strip().casefold()]
        if not match:
            raise InputError(f"no police force '{force}' in the LSOA lookup; it has: {', '.join(forces)}",
                             key="--force")
        codes = set(frame.loc[frame["force_name"] == match[0], "lad_code"].dropna())
        chosen = [(c, n) for c, n in sizes.index if c in codes]
    else:
        by_name = {}
        for c, n in sizes.index:
            by_name[str(c).casefold()] = (c, n)
            by_name[str(n).casefold()] = (c, n)
        asked = [d.strip() for d in districts or [] if d.strip()]
        if not asked:
            raise InputError("give --force NAME or --districts A,B,...", key="--districts")
        unknown = [d for d in asked if d.casefold() not in by_name]
        if unknown:
            raise InputError(f"no district {', '.join(repr(d) for d in unknown)} in the LSOA lookup; it has: "
                             + ", ".join(sorted(str(n) for _, n in sizes.index)), key="--districts")
        chosen = list(dict.fromkeys(by_name[d.casefold()] for d in asked))
    tasks = [Task(str(n), str(c), int(sizes[(c, n)]), f"{slug(str(n))}/{audience}" if audience else slug(str(n)))
             for c, n in chosen]
    return sorted(tasks, key=lambda t: (-t.lsoas, t.name))


def _inputs_digest(catalog: Catalog) -> str:
    """A SHA-256 of the catalog file and of every file it names (layers and profile settings):
    any change to what a build reads changes it."""
    from .cache import code_version

    h = hashlib.sha256(code_version().encode())
    h.update(Path(catalog.source).read_bytes())
    files: list[Path] = []
    for name in catalog.layers:
        try:
            files += catalog.paths(name)
        except InputError:  # a missing file: the build will say so; the key notes its absence
            h.update(f"missing {name}".encode())
    for value in catalog.profile.model_dump().values():
        if isinstance(value, str) and value and (catalog.base_dir / value).is_file():
            files.append(catalog.base_dir / value)
    for f in sorted(set(files)):
        for g in sorted(p for p in f.rglob("*") if p.is_file()) if f.is_dir() else [f]:
            h.update(str(g.resolve()).encode() + b"\0")
            h.update(hashlib.sha256(g.read_bytes()).digest())
    return h.hexdigest()


def district_profile(catalog: Catalog | str | Path, district: str, options: Options,
                     progress: Callable[[str], None] | None = None):
    """The profile of ``district`` built with ``options`` (nothing written yet)."""
    from .build import build_profile
    from .render.briefings import check_briefing_audience

    if options.briefings:
        check_briefing_audience(options.audience)
    return build_profile(catalog, district, audience=options.audience, cell_size=options.cell_size,
                         bandwidth=options.bandwidth,
                         test_months=list(options.test_months) if options.test_months else None,
                         progress=progress)


def write_district(profile, target: Path, options: Options, progress: Callable[[str], None] | None = None):
    """Write ``profile``'s outputs (and briefing sheets) into ``target``; the files written."""
    from .render import write_outputs
    from .render.briefings import write_briefings

    written = write_outputs(profile, target, progress)
    if options.briefings:
        written.update(write_briefings(profile, target, progress=progress))
    return written


def build_district(catalog: Catalog | str | Path, district: str, target: Path | Callable, options: Options,
                   progress: Callable[[str], None] | None = None):
    """Build ``district`` and write its outputs (and briefing sheets) into ``target`` (a folder,
    or a function of the profile that gives it): what ``localprofile build`` does for one
    district. Returns the profile and the files written."""
    profile = district_profile(catalog, district, options, progress)
    if callable(target):
        target = target(profile)
    return profile, write_district(profile, target, options, progress)


def _failed(task: Task, exc: Exception) -> Outcome:
    """The Outcome of a district whose build or writing raised ``exc``."""
    base = dict(name=task.name, code=task.code, folder=task.folder, key=task.key, status="failed")
    if isinstance(exc, InputError):
        return Outcome(**base, error=one_line(exc), kind="input")
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        return Outcome(**base, error=f"{where}{one_line(exc.strerror or exc)}", kind="input")
    # a bug: reported, and the other districts still built
    return Outcome(**base, error=f"internal error: {type(exc).__name__}: {one_line(exc)}", kind="internal")


def profile_task(catalog_path: str, task: Task, options: Options, cache: str | None):
    """The first half of one district of a batch (on a Dask worker, or in this process): its
    profile, or the failed Outcome with its one-line error. Never raises."""
    from . import cache as layer_cache

    layer_cache.use_cache(cache)
    try:
        return district_profile(catalog_path, task.code, options)
    except Exception as exc:  # noqa: BLE001  (every failure becomes the district's Outcome)
        return _failed(task, exc)


def write_task(built, root: str, task: Task, options: Options) -> Outcome:
    """The second half: ``built`` (a profile from :func:`profile_task`) written into the
    district's folder; a failed Outcome is passed on as it is. Never raises."""
    if isinstance(built, Outcome):
        return built
    try:
        write_district(built, Path(root) / task.folder, options)
    except Exception as exc:  # noqa: BLE001
        return _failed(task, exc)
    return Outcome(name=task.name, code=task.code, folder=task.folder, key=task.key, status="built")


def run_task(catalog_path: str, root: str, task: Task, options: Options, cache: str | None) -> Outcome:
    """Build one district of a batch and write it: never raises; a failure comes back as an
    Outcome with its one-line error."""
    return write_task(profile_task(catalog_path, task, options, cache), root, task, options)


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _read_manifest(root: Path) -> dict[str, dict]:
    try:
        data = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        return {d["folder"]: d for d in data["districts"]}
    except (OSError, ValueError, KeyError, TypeError):  # none yet, or unreadable: build everything
        return {}


def _write_manifest(root: Path, outcomes: list[Outcome], show_errors: bool) -> None:
    """``build-all.json``: each district's status, key and error (only its kind when
    ``show_errors`` is false). Written whole or not at all."""
    rows = [{"name": o.name, "code": o.code, "folder": o.folder, "status": o.status, "key": o.key,
             "error": o.error if show_errors else (o.kind and f"{o.kind} error"), "kind": o.kind}
            for o in outcomes]
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=root)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"districts": rows}, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, root / MANIFEST)


def _up_to_date(root: Path, task: Task, previous: dict | None) -> bool:
    folder = root / task.folder
    return (previous is not None and previous.get("status") in ("built", "up to date")
            and previous.get("key") == task.key
            and (folder / "index.html").is_file() and (folder / "summary.json").is_file())


def warm_worker(catalog_path: str, audience: str | None, cache: str | None) -> None:
    """Import the build and read the catalog's inputs into this process's store of layers, so
    the worker's first district starts at once. A problem is left for that district's build to
    report."""
    from . import cache as layer_cache
    from . import collect_less

    collect_less()  # before the build's imports below: they make 150,000 objects
    layer_cache.use_cache(cache)
    try:
        from .stages.audience import audience_policy
        from .stages.inputs import load_inputs

        cat = load_catalog(catalog_path)
        load_inputs(cat, audience_policy(cat, audience), None)
    except Exception:  # noqa: BLE001  (reported by the build that meets it)
        pass
    freeze_imports()  # the inputs too: kept for every district of this worker


def freeze_imports() -> None:
    """Import the build and its outputs, then move every object made so far out of the garbage
    collector's reach (``gc.freeze``): modules and their tables live as long as the process, and
    walking them on every collection costs about 0.6 s of a Leeds build. Collections are also
    made less frequent first (:func:`localprofile.collect_less`)."""
    import gc
    import importlib

    from . import collect_less

    collect_less()  # before the imports: they make 150,000 objects
    for module in ("localprofile.build", "localprofile.render", "localprofile.render.briefings"):
        importlib.import_module(module)
    # no gc.collect() first: after these imports it finds a few dozen unreachable objects (kept
    # frozen, a few kB) and costs about 0.07 s of every build walking the 140,000 live ones
    gc.freeze()


def _unreachable(scheduler: str, exc: BaseException) -> InputError:
    return InputError(f"cannot reach the Dask scheduler at {scheduler} ({type(exc).__name__}: {one_line(exc)})",
                      key="--scheduler")


def connect(scheduler: str):
    """A Dask client of the running cluster at ``scheduler`` (``build-all`` and ``national``'s
    ``--scheduler``); one that cannot be reached is an InputError naming it."""
    from dask.distributed import Client

    try:
        return Client(scheduler, timeout="20s")
    except (OSError, TimeoutError, ValueError) as exc:  # refused, timed out, not an address
        raise _unreachable(scheduler, exc) from None


class DaskRun:
    """A Dask client made in a background thread — the LocalCluster started, or the cluster at
    ``scheduler`` reached, and every worker warmed (:func:`warm_worker`) — while this process
    plans the batch."""

    def __init__(self, scheduler: str | None, workers: int | None, catalog_path: str, audience: str | None,
                 cache: str | None) -> None:
        import threading

        self.scheduler, self.client, self.cluster, self.error = scheduler, None, None, None
        self._scratch = tempfile.TemporaryDirectory(prefix="localprofile-dask-")
        self._thread = threading.Thread(target=self._start, args=(workers, catalog_path, audience, cache),
                                        daemon=True)
        self._thread.start()

    def _start(self, workers, catalog_path, audience, cache) -> None:
        import logging

        try:
            import dask
            from dask.distributed import Client, LocalCluster

            # a build is one long CPU-bound task: the workers' sampling profiler (every 10 ms)
            # would only slow it; the nanny passes this configuration on to each worker process
            # Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 in each worker, which also turns off
            # glibc's dynamic mmap threshold: every large numpy temporary is then mapped and
            # unmapped afresh (a third more time in the kernel for a build here), so it is dropped
            environ = {k: v for k, v in dask.config.get("distributed.nanny.pre-spawn-environ").items()
                       if k != "MALLOC_TRIM_THRESHOLD_"}
            dask.config.set({"distributed.worker.profile.enabled": False,
                             "distributed.nanny.pre-spawn-environ": environ})
            if self.scheduler:
                self.client = connect(self.scheduler)
            else:
                # a district's profile passes from the worker that built it to the one writing
                # it (see run): it holds restricted detail for a force build, so it is never
                # spilled to disk, which only this machine's workers can be told
                dask.config.set({"distributed.worker.memory.target": False,
                                 "distributed.worker.memory.spill": False})
                self.cluster = LocalCluster(n_workers=workers or _usable_cpus(), threads_per_worker=1,
                                            processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                            silence_logs=logging.ERROR, local_directory=self._scratch.name)
                self.client = Client(self.cluster)
            self.client.run(warm_worker, catalog_path, audience, cache)
        except Exception as exc:  # noqa: BLE001  (raised in the caller's thread by client())
            self.error = exc

    def ready(self):
        """The client, once the cluster is up and warm; a scheduler that cannot be reached is an
        InputError naming it."""
        self._thread.join()
        if self.error is not None:
            if self.scheduler and not isinstance(self.error, InputError):
                raise _unreachable(self.scheduler, self.error)
            raise self.error
        return self.client

    def close(self) -> None:
        self._thread.join()
        try:
            if self.client is not None:
                if self.cluster is None:
                    self.client.close()  # someone else's cluster: only this connection ends
                else:
                    self.client.shutdown()  # scheduler and workers at once (about 1 s less than close())
        finally:
            self._scratch.cleanup()

    def run(self, catalog_path: str, root: str, tasks: list[Task], options: Options, cache: str | None,
            on_done) -> dict[str, Outcome]:
        """The tasks, biggest first; a worker that dies fails its district only."""
        from dask.distributed import as_completed

        client = self.ready()
        # On this machine's LocalCluster each district is two tasks, its profile then its files,
        # so that the work packs onto the workers in smaller pieces than whole districts (five
        # districts on two workers left one worker idle for most of the last district; 12-13 s
        # instead of 15-16 s here). Profiles go biggest district first; a district's files are
        # written as soon as its profile is ready (mostly on the worker that holds it), so that
        # about one profile per worker waits in memory. On an existing cluster a district stays
        # one task: its profile, restricted detail and all, never crosses the network.
        writes = {}
        for i, t in enumerate(tasks):
            tag = f"{t.code}-{t.key[:12]}"
            if self.cluster is None:
                writes[client.submit(run_task, catalog_path, root, t, options, cache, pure=False,
                                     key=f"localprofile-build-{tag}", priority=len(tasks) - i)] = t
                continue
            built = client.submit(profile_task, catalog_path, t, options, cache, pure=False,
                                  key=f"localprofile-profile-{tag}", priority=len(tasks) - i)
            writes[client.submit(write_task, built, root, t, options, pure=False,
                                 key=f"localprofile-write-{tag}", priority=len(tasks) + 1)] = t
            del built  # the profile is let go on its worker once its files are written
        results: dict[str, Outcome] = {}
        for fut in as_completed(writes):
            t = writes[fut]
            try:
                o = fut.result()
            except Exception as exc:  # the worker died (out of memory, killed): this district fails
                o = Outcome(t.name, t.code, t.folder, "failed", t.key,
                            f"internal error: the Dask worker building it stopped: {type(exc).__name__}: "
                            f"{one_line(exc)}", "internal")
            results[t.folder] = o
            if on_done:
                on_done(o)
        return results


def build_all(catalog: str | Path, root: str | Path, *, force: str | None = None,
              districts: list[str] | None = None, audience: str | None = None,
              options: Options | None = None, scheduler: str | None = None, workers: int | None = None,
              serial: bool = False, cache: str | Path | None = None,
              on_done: Callable[[Outcome], None] | None = None) -> BatchReport:
    """Build the districts of ``force`` (or ``districts``) into ``root``/<district>/<audience>
    and write the front page ``root``/index.html; ``serial`` builds them one after the other in
    this process instead of on Dask. ``cache``: the folder of parsed inputs (:mod:`.cache`).
    ``on_done`` is told of each district as it finishes."""
    from .render.front_page import write_front_page
    from .stages.audience import audience_policy

    options = dataclasses.replace(options or Options(), audience=audience) if audience else options or Options()
    catalog_path = str(Path(catalog).resolve())
    cache = str(Path(cache).resolve()) if cache else None
    # A first run: the cluster starts (and its workers read the inputs) while this process plans
    # the batch. A re-run (build-all.json there) plans first: it may find nothing to build.
    def start() -> DaskRun:  # no more workers than districts asked for
        n = workers or _usable_cpus()
        return DaskRun(scheduler, min(n, len(districts)) if districts else n, catalog_path, options.audience, cache)

    dask_run = None if serial or (Path(root) / MANIFEST).exists() else start()
    try:
        cat = load_catalog(catalog_path)
        policy = audience_policy(cat, options.audience)  # a bad or missing audience stops here, once
        if options.briefings:
            from .render.briefings import check_briefing_audience

            check_briefing_audience(options.audience)
        planned = plan_batch(cat, force=force, districts=districts, audience=options.audience)
        digest = _inputs_digest(cat)
        opts = json.dumps(dataclasses.asdict(options), sort_keys=True)
        tasks = [dataclasses.replace(t, key=hashlib.sha256(f"{digest} {opts} {t.code}".encode()).hexdigest())
                 for t in planned]
        root = Path(root).resolve()
        root.mkdir(parents=True, exist_ok=True)
        previous = _read_manifest(root)
        results: dict[str, Outcome] = {}
        todo = []
        for t in tasks:
            if _up_to_date(root, t, previous.get(t.folder)):
                results[t.folder] = Outcome(t.name, t.code, t.folder, "up to date", t.key)
                if on_done:
                    on_done(results[t.folder])
            else:
                todo.append(t)
        if not serial and todo and dask_run is None:
            dask_run = start()
        if serial:
            for t in todo:
                results[t.folder] = run_task(catalog_path, str(root), t, options, cache)
                if on_done:
                    on_done(results[t.folder])
        elif todo:
            results.update(dask_run.run(catalog_path, str(root), todo, options, cache, on_done))
    finally:
        if dask_run is not None:
            dask_run.close()
    outcomes = [results[t.folder] for t in tasks]
    # a partner build reads restricted point layers, and an error may quote one of their rows:
    # partner outputs then say only what kind of error it was (the analyst sees it on screen)
    show = not (policy.audience == "partner" and policy.restricted)
    _write_manifest(root, outcomes, show_errors=show)
    page = write_front_page(
        root, [root / o.folder for o in outcomes if o.status != "failed"], title=cat.profile.title,
        failed=[(o.name, o.code, o.error if show else f"{o.kind} error: the analyst who ran the build has the detail")
                for o in outcomes if o.status == "failed"],
        audience=policy.audience, marking=policy.marking)
    return BatchReport(outcomes, page)
