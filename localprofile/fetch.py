"""Download the open sources of a force and a set of months into a cache, and write its catalog.

``localprofile fetch`` is for a user with internet: the police.uk monthly archive (only the
requested months of one force are kept out of it), ONS LSOA boundaries and lookup, IoD2019 File 7,
Census 2011 population, Get Information About Schools and OS Code-Point Open. Where each comes
from is in ``fetch_sources.yaml`` (override it with ``--sources FILE``; ``--base-url`` points every
URL at a mirror).

Every file is written under a temporary name and moved into place when complete. ``checksums.json``
in the cache records each file's URL, SHA-256, size and time, so a second run downloads only what
is missing or no longer matches. ``catalog.yaml`` beside it declares the files for ``localprofile
build`` (paths relative to it); a file whose adapter this version lacks is downloaded and named in
the catalog's header comment, not catalogued. HTTP is the standard library's ``urllib`` alone.

>>> parse_months("2016-11..2017-02, 2017-07")
['2016-11', '2016-12', '2017-01', '2017-02', '2017-07']
>>> rebase("https://data.police.uk/data/archive/2017-07.zip", "http://127.0.0.1:8000/mirror/")
'http://127.0.0.1:8000/mirror/data/archive/2017-07.zip'
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import string
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

import typer
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from . import __version__
from .console import err, out
from .errors import InputError
from .reproducible import source_datetime

Progress = Callable[[str], None]

TIMEOUT_S = 60
USER_AGENT = f"localprofile/{__version__} (localprofile fetch; Python urllib)"
CHUNK = 1 << 20
CHECKSUMS = "checksums.json"
CATALOG = "catalog.yaml"
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_MONTHS_HELP = "expected YYYY-MM, a comma-separated list of them, or a range such as 2016-07..2016-09"


# --- arguments ----------------------------------------------------------------------------------


def parse_months(value: str | list[str]) -> list[str]:
    """The months of ``--months``: ``YYYY-MM`` items and ``A..B`` ranges, comma-separated; sorted."""
    items = [p.strip() for v in ([value] if isinstance(value, str) else value) for p in str(v).split(",")]
    months: set[str] = set()
    for item in filter(None, items):
        first, sep, last = item.partition("..")
        ends = [first.strip(), last.strip()] if sep else [item]
        for end in ends:
            if not _MONTH.fullmatch(end):
                raise InputError(f"bad month '{end}' in --months '{_joined(value)}': {_MONTHS_HELP}")
        if sep and ends[0] > ends[1]:
            raise InputError(f"range '{item}' in --months runs backwards (write {ends[1]}..{ends[0]})")
        y, m = map(int, ends[0].split("-"))
        while f"{y:04d}-{m:02d}" <= ends[-1]:
            months.add(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    if not months:
        raise InputError(f"no month in --months '{_joined(value)}': {_MONTHS_HELP}")
    return sorted(months)


def _joined(value: str | list[str]) -> str:
    return value if isinstance(value, str) else ",".join(value)


def _force_slug(force: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", force.lower()).strip("-")
    if not slug:
        raise InputError(f"bad --force '{force}': give a police.uk force slug, e.g. west-yorkshire")
    return slug


def rebase(url: str, base_url: str | None) -> str:
    """``url`` with the scheme and host of ``base_url`` (its path, if any, put in front)."""
    if not base_url:
        return url
    u, b = urlsplit(url), urlsplit(base_url)
    return urlunsplit((b.scheme, b.netloc, b.path.rstrip("/") + u.path, u.query, u.fragment))


def _check_base_url(base_url: str | None) -> str | None:
    if base_url is None:
        return None
    b = urlsplit(base_url)
    if b.scheme not in ("http", "https") or not b.netloc:
        raise InputError(f"bad --base-url '{base_url}': expected http://host[:port] or https://host")
    return base_url


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "district"


# --- the sources file ---------------------------------------------------------------------------


class SourceSpec(BaseModel):
    """One download: its URL template, its file in the cache, and the catalog layer it feeds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    file: str
    adapter: str
    kind: Literal["file", "police_uk_archive"] = "file"
    vintage: str
    licence: str
    attribution: str
    description: str | None = None
    label: str | None = None
    encoding: str | None = None
    sha256: str | None = Field(None, pattern=r"^[0-9a-fA-F]{64}$")
    options: dict[str, Any] = {}

    @field_validator("file")
    @classmethod
    def _inside_cache(cls, v: str) -> str:
        if not _inside(v):
            raise ValueError("must be a relative path inside the cache folder, without '..'")
        return v


def _inside(rel: str) -> bool:
    p = PurePosixPath(rel)
    return bool(rel) and not p.is_absolute() and ".." not in p.parts and "\\" not in rel and ":" not in rel


def default_sources_path() -> Path:
    """The shipped ``fetch_sources.yaml``."""
    return Path(str(resources.files("localprofile").joinpath("fetch_sources.yaml")))


def _read_sources_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InputError("sources file not found", file=path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError("sources file is not UTF-8 text", file=path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise InputError(f"not valid YAML: {where}{getattr(exc, 'problem', None) or exc}", file=path) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("sources"), dict):
        raise InputError("a sources file must be a mapping with a 'sources' mapping", file=path, key="sources")
    extra = sorted(set(raw) - {"version", "sources"})
    if extra:
        raise InputError("unknown key", file=path, key=str(extra[0]))
    return raw["sources"]


def load_sources(override: Path | None = None) -> dict[str, SourceSpec]:
    """The shipped sources with ``override``'s entries merged over them (null removes one)."""
    return _load_sources(override)[0]


def _load_sources(override: Path | None) -> tuple[dict[str, SourceSpec], dict[str, Path]]:
    """The merged sources, and for each the file its entry last came from (for error messages)."""
    merged: dict[str, Any] = dict(_read_sources_yaml(default_sources_path()))
    origin = dict.fromkeys(merged, default_sources_path())
    if override is not None:
        for name, entry in _read_sources_yaml(Path(override)).items():
            if entry is None:
                merged.pop(str(name), None)
                continue
            if not isinstance(entry, dict):
                raise InputError("each source must be a mapping (or null)", file=override, key=f"sources.{name}")
            merged[str(name)] = {**(merged.get(str(name)) or {}), **entry}
            origin[str(name)] = Path(override)
    specs = {}
    for name, entry in merged.items():
        try:
            specs[name] = SourceSpec(**entry)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            msg = {"missing": "required key is missing", "extra_forbidden": "unknown key"}.get(
                err["type"], err["msg"].removeprefix("Value error, ")
            )
            raise InputError(msg, file=origin[name], key=f"sources.{name}.{where}") from None
    return specs, {n: origin[n] for n in specs}


def _fill(template: str, values: dict[str, str], *, file: Path, key: str) -> str:
    try:
        return string.Formatter().vformat(template, (), values)
    except KeyError as exc:
        raise InputError(
            f"unknown placeholder {{{exc.args[0]}}} (known: {', '.join('{' + k + '}' for k in values)})",
            file=file, key=key,
        ) from None
    except (ValueError, IndexError) as exc:
        raise InputError(f"bad placeholder: {exc}", file=file, key=key) from None


# --- HTTP and the cache -------------------------------------------------------------------------


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", exc)
    text = getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
    return " ".join(str(text).split())


def _unreachable(url: str, exc: BaseException) -> InputError:
    return InputError(
        f"cannot reach {urlsplit(url).netloc}: {_reason(exc)}; check the connection, or use "
        "--base-url for a mirror"
    )


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def _now() -> str:
    """When a file was downloaded, for the cache's manifest: SOURCE_DATE_EPOCH when set (a
    reproducible fetch), else the clock (a download happens at a time; no profile output
    carries it)."""
    return (source_datetime() or datetime.now(UTC)).isoformat(timespec="seconds")


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.part-{os.getpid()}")


class Cache:
    """The cache folder and its ``checksums.json``: {relative path: record}."""

    def __init__(self, root: Path, progress: Progress | None = None) -> None:
        self.root = root
        self.progress = progress or (lambda msg: None)
        self.file = root / CHECKSUMS
        self.records: dict[str, dict[str, Any]] = self._load()
        self.downloaded: list[str] = []
        self.reused: list[str] = []
        self.opener = urllib.request.build_opener()  # proxies from the environment, redirects
        self.opener.addheaders = [("User-Agent", USER_AGENT)]

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
            files = data["files"]
            return {str(k): dict(v) for k, v in files.items() if isinstance(v, dict)}
        except FileNotFoundError:
            return {}
        except (ValueError, KeyError, TypeError, AttributeError):
            self.progress(f"{self.file} is unreadable: every file will be downloaded again")
            return {}

    def save(self) -> None:
        """Write ``checksums.json`` (atomically, and only if it changed)."""
        text = json.dumps({"version": 1, "files": dict(sorted(self.records.items()))}, indent=2) + "\n"
        if self.file.exists() and self.file.read_text(encoding="utf-8") == text:
            return
        tmp = _tmp_name(self.file)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self.file)

    def valid(self, rel: str, **expected: Any) -> bool:
        """Whether ``rel`` is cached, its bytes match its record, and the record has ``expected``."""
        rec, path = self.records.get(rel), self.root / rel
        if rec is None or not path.is_file() or any(rec.get(k) != v for k, v in expected.items()):
            return False
        return path.stat().st_size == rec.get("bytes") and sha256_file(path) == rec.get("sha256")

    def download(self, url: str, rel: str, *, label: str, sha256: str | None = None,
                 sha_key: tuple[Path, str] | None = None, not_found_hint: str = "") -> Path:
        """``url`` into ``rel`` unless a matching copy from the same URL is cached."""
        path = self.root / rel
        if self.valid(rel, url=url) and (sha256 is None or self.records[rel]["sha256"] == sha256.lower()):
            self.reused.append(rel)
            self.progress(f"{label}: cached {rel}")
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _tmp_name(path)
        try:
            digest, size = self._get(url, tmp, label, not_found_hint)
            if sha256 is not None and digest != sha256.lower():
                file, key = sha_key or (None, None)
                raise InputError(f"{url} has SHA-256 {digest}, expected {sha256.lower()}", file=file, key=key)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        self.records[rel] = {"url": url, "sha256": digest, "bytes": size, "downloaded": _now()}
        self.downloaded.append(rel)
        self.save()
        return path

    def _get(self, url: str, dest: Path, label: str, not_found_hint: str) -> tuple[str, int]:
        self.progress(f"{label}: connecting to {urlsplit(url).netloc}")
        try:
            resp = self.opener.open(urllib.request.Request(url), timeout=TIMEOUT_S)
        except urllib.error.HTTPError as exc:
            exc.close()
            hint = f" ({not_found_hint})" if exc.code == 404 and not_found_hint else ""
            raise InputError(f"HTTP {exc.code} {exc.reason} for {url}{hint}") from None
        except urllib.error.URLError as exc:
            raise _unreachable(url, exc) from None
        except (OSError, http.client.HTTPException) as exc:  # timeouts, resets, bad status lines
            raise _unreachable(url, exc) from None
        except ValueError as exc:  # "unknown url type"
            raise InputError(f"bad URL '{url}': {exc}") from None
        h, size = hashlib.sha256(), 0
        with resp, open(dest, "wb") as f:
            total = resp.headers.get("Content-Length")
            total = int(total) if total and total.isdigit() else None
            shown = 0
            while True:
                try:
                    block = resp.read(CHUNK)
                except (OSError, http.client.HTTPException) as exc:
                    raise InputError(
                        f"download of {url} broke off after {size:,} bytes: {_reason(exc)}; "
                        "run fetch again to retry"
                    ) from None
                if not block:
                    break
                f.write(block)
                h.update(block)
                size += len(block)
                if size - shown >= 8 * CHUNK:
                    shown = size
                    of = f" of {total / 1e6:,.1f}" if total else ""
                    self.progress(f"{label}: {size / 1e6:,.1f}{of} MB")
        if total is not None and size != total:
            raise InputError(f"download of {url} is incomplete ({size:,} of {total:,} bytes); run fetch again")
        return h.hexdigest(), size

    def record_made(self, rel: str, **info: Any) -> None:
        """Record a file the fetch made itself (an extracted member, a district subset)."""
        path = self.root / rel
        self.records[rel] = {**info, "sha256": sha256_file(path), "bytes": path.stat().st_size, "made": _now()}
        self.save()


# --- the police.uk archive ----------------------------------------------------------------------


def _extract_months(cache: Cache, name: str, spec: SourceSpec, url: str, archive_rel: str,
                    months: list[str], force: str, sources_file: Path) -> list[str]:
    """The requested months' ``<force>-street.csv`` files, taken from the police.uk archive."""
    members = {m: f"{m}/{m}-{force}-street.csv" for m in months}
    targets = {m: f"police_uk/{m}/{m}-{force}-street.csv" for m in months}
    expected = spec.sha256.lower() if spec.sha256 else None

    def current(m: str) -> bool:
        rec = cache.records.get(targets[m], {})
        return cache.valid(targets[m], url=url, member=members[m]) and (
            expected is None or rec.get("archive_sha256") == expected
        )

    if all(current(m) for m in months):  # the archive itself is not needed (it may be deleted)
        cache.reused.extend(targets.values())
        cache.progress(f"{name}: cached {len(months)} month(s) of {force}")
        return list(targets.values())
    hint = f"police.uk publishes the archive of {months[-1]} some weeks after that month ends"
    archive = cache.download(url, archive_rel, label=name, sha256=spec.sha256,
                             sha_key=(sources_file, f"sources.{name}.sha256"), not_found_hint=hint)
    archive_sha = cache.records[archive_rel]["sha256"]
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        cache.records.pop(archive_rel, None)  # so that the next run downloads it again
        cache.save()
        raise InputError(f"not a zip archive (downloaded from {url}); run fetch again", file=archive) from None
    with zf:
        names = set(zf.namelist())
        held = sorted({n.split("/", 1)[0] for n in names if _MONTH.fullmatch(n.split("/", 1)[0])})
        for m in months:
            if members[m] in names:
                continue
            if m not in held:
                span = f"it holds {held[0]} to {held[-1]}" if held else "it holds no months"
                raise InputError(f"month {m} is not in the police.uk archive {url} ({span})")
            forces = sorted(n[len(m) * 2 + 2:-len("-street.csv")] for n in names
                            if n.startswith(f"{m}/{m}-") and n.endswith("-street.csv"))
            shown = ", ".join(forces[:50]) + (" ..." if len(forces) > 50 else "")
            raise InputError(f"no street-level file for force '{force}' in {m} of {url}; forces there: {shown}")
        for m in months:
            if cache.valid(targets[m], url=url, member=members[m], archive_sha256=archive_sha):
                cache.reused.append(targets[m])
                continue
            cache.progress(f"{name}: extracting {members[m]}")
            dest = cache.root / targets[m]
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = _tmp_name(dest)
            try:
                with zf.open(members[m]) as src, open(tmp, "wb") as out:
                    while block := src.read(CHUNK):
                        out.write(block)
                os.replace(tmp, dest)
            except (zipfile.BadZipFile, zlib.error) as exc:
                cache.records.pop(archive_rel, None)
                cache.save()
                raise InputError(f"corrupt member {members[m]} ({exc}); run fetch again", file=archive) from None
            finally:
                tmp.unlink(missing_ok=True)
            cache.record_made(targets[m], url=url, archive=archive_rel, archive_sha256=archive_sha,
                              member=members[m])
    return list(targets.values())


def _layer_spec(spec: SourceSpec, path: str | list[str], values: dict[str, str], sources_file: Path,
                name: str) -> dict[str, Any]:
    """The catalog layer of a downloaded source."""
    entry: dict[str, Any] = {
        "adapter": spec.adapter,
        "path": path,
        "vintage": _fill(spec.vintage, values, file=sources_file, key=f"sources.{name}.vintage"),
        "licence": spec.licence,
        "attribution": spec.attribution,
        "sensitivity": "open",
    }
    if spec.description:
        entry["description"] = _fill(spec.description, values, file=sources_file, key=f"sources.{name}.description")
    if spec.label:
        entry["label"] = spec.label
    if spec.encoding:
        entry["encoding"] = spec.encoding
    if spec.options:
        entry["options"] = dict(spec.options)
    return entry


# --- the district's boundaries ------------------------------------------------------------------


def _district_boundaries(cache: Cache, district: str, boundaries_rel: str, lookup_rel: str,
                         lookup_entry: dict[str, Any]) -> tuple[str, str, str]:
    """Write the district's LSOAs of the boundary file to a file of their own.

    The district is matched by name or code in the downloaded lookup, as ``build`` matches it.
    Returns the subset's path in the cache, the district's code and name.
    """
    src = PurePosixPath(boundaries_rel)
    suffix = src.suffix.lower() if src.suffix.lower() in (".geojson", ".json", ".gpkg") else ".geojson"
    rel = str(src.with_name(f"{src.stem}_{_slug(district)}{suffix}"))
    made_from = {"boundaries": cache.records[boundaries_rel]["sha256"],
                 "lookup": cache.records[lookup_rel]["sha256"], "district": district}
    if cache.valid(rel, made_from=made_from):
        cache.reused.append(rel)
        rec = cache.records[rel]
        return rel, rec["district_code"], rec["district_name"]

    import geopandas as gpd
    import pyogrio

    from .catalog import LayerSpec
    from .layers import ADAPTERS
    from .study_area import select_district

    cache.progress(f"selecting the LSOAs of {district}")
    lookup_path, boundaries_path = cache.root / lookup_rel, cache.root / boundaries_rel
    lookup = ADAPTERS["lsoa_lookup"].load([lookup_path], LayerSpec(**{**lookup_entry, "path": lookup_rel})).frame
    try:
        raw = gpd.read_file(boundaries_path, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        first = str(exc).splitlines()[0]
        raise InputError(f"cannot read the boundaries as GeoJSON or GeoPackage ({first})", file=boundaries_path) from None
    cols = {c.upper(): c for c in raw.columns}
    code = next((cols[c] for c in ("LSOA11CD", "LSOA21CD") if c in cols), None)
    if code is None:
        raise InputError("no LSOA11CD or LSOA21CD field", file=boundaries_path, column="LSOA11CD")
    label = next((cols[c] for c in ("LSOA11NM", "LSOA21NM") if c in cols), None)
    frame = gpd.GeoDataFrame(
        {"lsoa_code": raw[code], "lsoa_name": raw[label] if label else None},
        geometry=raw.geometry, crs=raw.crs,
    )
    area = select_district(lookup, frame, district, lookup_file=lookup_path)
    subset = raw[raw[code].isin(area.lsoa_codes)]
    dest = cache.root / rel
    tmp = dest.with_name(f".{dest.stem}.part-{os.getpid()}{suffix}")
    try:
        subset.to_file(tmp, driver="GPKG" if suffix == ".gpkg" else "GeoJSON", engine="pyogrio")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    cache.record_made(rel, made_from=made_from, district_code=area.code, district_name=area.name,
                      lsoas=len(subset))
    return rel, area.code, area.name


# --- fetch --------------------------------------------------------------------------------------


@dataclass
class FetchResult:
    """What a fetch did: the catalog it wrote and the files it downloaded or found cached."""

    catalog: Path
    downloaded: list[str]
    reused: list[str]
    uncatalogued: dict[str, list[str]] = field(default_factory=dict)
    district: tuple[str, str] | None = None


def _months_text(months: list[str]) -> str:
    if len(months) == 1:
        return months[0]
    if len(months) > 3 and parse_months(f"{months[0]}..{months[-1]}") == months:
        return f"{months[0]} to {months[-1]} ({len(months)} months)"
    return ", ".join(months[:-1]) + f" and {months[-1]}"


def run_fetch(out_dir: Path, *, force: str, months: str | list[str], district: str | None = None,
              sources: Path | None = None, base_url: str | None = None,
              progress: Progress | None = None) -> FetchResult:
    """:func:`fetch`, returning what it did as well (for the command's summary)."""
    months = parse_months(months)
    force = _force_slug(force)
    base_url = _check_base_url(base_url)
    specs, origin = _load_sources(sources)
    by_adapter = {s.adapter: n for n, s in specs.items()}
    if district is not None:
        missing = [a for a in ("lsoa_lookup", "lsoa_boundaries") if a not in by_adapter]
        if missing:
            raise InputError(f"--district needs a source with adapter {missing[0]}",
                             file=sources or default_sources_path(), key="sources")

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cache = Cache(out_dir, progress)
    # {date}: GIAS publishes one extract a day, named by its date, so the day's file is today's
    # (SOURCE_DATE_EPOCH, when set, names the day instead)
    day = source_datetime() or datetime.now(UTC)
    values = {"month": months[-1], "date": day.strftime("%Y%m%d")}
    text_values = {**values, "months": _months_text(months), "force": force}

    # The lookup and boundaries first: an unknown district then fails before the big downloads.
    first = [by_adapter["lsoa_lookup"], by_adapter["lsoa_boundaries"]] if district else []
    order = first + [n for n in specs if n not in first]
    files: dict[str, list[str]] = {}
    entries: dict[str, dict[str, Any]] = {}
    subset: tuple[str, str, str] | None = None
    for name in order:
        spec, sources_file = specs[name], origin[name]
        url = rebase(_fill(spec.url, values, file=sources_file, key=f"sources.{name}.url"), base_url)
        rel = _fill(spec.file, values, file=sources_file, key=f"sources.{name}.file")
        if not _inside(rel):  # a placeholder's value cannot lead outside the cache
            raise InputError(f"'{rel}' is not a path inside the cache", file=sources_file, key=f"sources.{name}.file")
        if spec.kind == "police_uk_archive":
            files[name] = _extract_months(cache, name, spec, url, rel, months, force, sources_file)
        else:
            cache.download(url, rel, label=name, sha256=spec.sha256,
                           sha_key=(sources_file, f"sources.{name}.sha256"))
            files[name] = [rel]
        entries[name] = _layer_spec(spec, files[name][0] if len(files[name]) == 1 else files[name],
                                    text_values, sources_file, name)
        if district is not None and subset is None and all(n in files for n in first):
            subset = _district_boundaries(cache, district, files[first[1]][0], files[first[0]][0],
                                          entries[first[0]])

    entries = {name: entries[name] for name in specs}  # the catalog lists layers in sources order
    chosen = None
    if subset is not None:
        rel, code, label = subset
        chosen = (code, label)
        bounds = by_adapter["lsoa_boundaries"]
        entries[bounds]["path"] = rel
        entries[bounds]["description"] = f"the LSOAs of {label} ({code}), taken from {files[bounds][0]}"
    cache.save()
    catalog, uncatalogued = _write_catalog(out_dir, entries, files, force=force, months=months,
                                           district=chosen)
    return FetchResult(catalog, cache.downloaded, cache.reused, uncatalogued, chosen)


def fetch(out_dir: Path, *, force: str, months: list[str], district: str | None = None,
          sources: Path | None = None, base_url: str | None = None, progress: Progress | None = None) -> Path:
    """Download the open sources of ``force`` for ``months`` into ``out_dir``; return its catalog.

    ``months`` items may be ``YYYY-MM`` or ranges ``A..B``. ``district`` (a local authority name
    or code) also writes the boundaries of its LSOAs alone, and the catalog uses them. ``sources``
    is a YAML file merged over ``fetch_sources.yaml``; ``base_url`` replaces the scheme and host
    of every URL. Every problem is an :class:`InputError` of one line.
    """
    return run_fetch(out_dir, force=force, months=months, district=district, sources=sources,
                     base_url=base_url, progress=progress).catalog


def _write_catalog(out_dir: Path, entries: dict[str, dict[str, Any]], files: dict[str, list[str]], *,
                   force: str, months: list[str], district: tuple[str, str] | None
                   ) -> tuple[Path, dict[str, list[str]]]:
    """Write ``catalog.yaml`` for the layers whose adapter exists; name the others in a comment."""
    from .catalog import load_catalog
    from .layers import ADAPTERS

    layers = {n: e for n, e in entries.items() if e["adapter"] in ADAPTERS}
    left_out = {n: files[n] for n, e in entries.items() if e["adapter"] not in ADAPTERS}
    head = [
        "# localprofile data catalog written by `localprofile fetch`: open data for police.uk force",
        f"# '{force}', months {', '.join(months)}"
        + (f", district {district[1]} ({district[0]})." if district else "."),
        f"# Paths are relative to this file; {CHECKSUMS} beside it records each file's URL, SHA-256",
        "# and download time. Check it with `localprofile validate --catalog catalog.yaml`; build with",
        f"# `localprofile build --catalog catalog.yaml --district {district[1] if district else 'NAME'}`.",
    ]
    if left_out:
        head.append("# Downloaded but not catalogued (this version of localprofile has no adapter for them):")
        head += [f"#   {n} (adapter {entries[n]['adapter']}): {', '.join(p)}" for n, p in left_out.items()]
    body = {
        "version": 1,
        "profile": {"title": "Serious and Organised Crime local profile", "marking": "OFFICIAL"},
        "themes": {},
        "layers": layers,
    }
    text = "\n".join(head) + "\n" + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=10_000)
    path = out_dir / CATALOG
    tmp = _tmp_name(path)
    tmp.write_text(text, encoding="utf-8")
    try:
        try:
            load_catalog(tmp)  # the catalog a user gets must load
        except InputError as exc:
            exc.file = str(path)
            raise
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path, left_out


# --- the command --------------------------------------------------------------------------------


def fetch_command(
    force: Annotated[str, typer.Option("--force", help="police.uk force slug, e.g. west-yorkshire.")],
    months: Annotated[str, typer.Option(
        "--months", help="Months YYYY-MM, comma-separated, or a range such as 2016-07..2016-09.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Cache folder for the files and catalog.yaml.")] = Path("data-cache"),
    district: Annotated[str | None, typer.Option(
        "--district", help="Local authority name or code: also write the boundaries of its LSOAs alone.")] = None,
    sources: Annotated[Path | None, typer.Option(
        "--sources", help="YAML merged over the shipped URL templates (fetch_sources.yaml).")] = None,
    base_url: Annotated[str | None, typer.Option(
        "--base-url", help="Replace the scheme and host of every URL (a mirror).")] = None,
) -> None:
    """Download the open sources for a force and months into a cache; print the catalog's path."""
    from rich.progress import Progress as Bar
    from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

    with Bar(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
             console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("fetching", total=None)
        result = run_fetch(out_dir, force=force, months=months, district=district, sources=sources,
                           base_url=base_url, progress=lambda msg: bar.update(task, description=msg))
    err.print(f"{len(result.downloaded)} file(s) downloaded, {len(result.reused)} already in the cache "
              f"({out_dir})", markup=False)
    if result.uncatalogued:
        err.print("downloaded but not catalogued (no adapter in this version): "
                  + ", ".join(result.uncatalogued), markup=False)
    out.print(str(result.catalog.resolve()), markup=False)
