"""Load and validate a data catalog (``data_catalog.yaml``).

The catalog declares every source a profile reads: its adapter, path or glob (relative to the
catalog file), vintage, licence and attribution, and sensitivity. Code never holds data paths.

>>> from localprofile.demo import demo_catalog_path
>>> cat = load_catalog(demo_catalog_path())
>>> cat.roles()
{'crimes': 'crimes', 'boundaries': 'lsoa_boundaries', 'lookup': 'lsoa_lookup', 'deprivation': 'imd2019', 'population': 'census_population'}
>>> [n for n, s in cat.layers.items() if s.sensitivity == "restricted"]
['ocg_members', 'cse_locations', 'vulnerable_persons', 'repeat_offenders', 'nominals']
>>> cat.layers["crimes"].adapter, cat.layers["crimes"].sensitivity
('police_uk_street', 'open')
>>> [p.name for p in cat.paths("crimes")]
['2016-07.zip', '2017-07.zip']
"""

from __future__ import annotations

import glob
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator, model_validator

from .errors import InputError
from .layers import ADAPTERS


class _KeyedError(ValueError):
    """A model-level check's error that names the catalog key it is about."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LayerSpec(_Strict):
    """One source in the catalog."""

    adapter: str
    path: str | list[str]
    vintage: str
    licence: str
    attribution: str
    sensitivity: Literal["open", "restricted"]
    description: str | None = None
    encoding: str = "auto"  # UTF-8 (with or without BOM), else Windows-1252; or any codec name
    label: str | None = None
    synthetic: bool = False
    # a restricted layer's free text (description, vintage, licence, attribution) reaches partner
    # outputs only when this says so; otherwise partners see its label and "force data"
    partner_text: bool = False
    # a point layer's part in the priority-neighbourhood overlay: counted per neighbourhood as a
    # threat (OCG members' addresses, CSE locations), or, within overlay.near_hot_cells_m of hot
    # cells, as a vulnerability (vulnerable persons, care homes); schools are a vulnerability
    # unless this says otherwise ("none" leaves a layer out)
    overlay: Literal["threat", "vulnerability", "none"] | None = None
    options: dict[str, Any] = {}

    @field_validator("adapter")
    @classmethod
    def _known_adapter(cls, v: str) -> str:
        if v not in ADAPTERS:
            raise ValueError(f"unknown adapter '{v}' (known: {', '.join(sorted(ADAPTERS))})")
        return v

    @model_validator(mode="after")
    def _adapter_options(self) -> LayerSpec:
        model = getattr(ADAPTERS[self.adapter], "Options", None)
        if model is None:
            if self.options:
                raise ValueError(f"adapter '{self.adapter}' takes no options")
        else:
            try:
                model(**self.options)
            except ValidationError as exc:
                e = exc.errors()[0]
                where = ".".join(str(p) for p in e["loc"])
                msg = "unknown option" if e["type"] == "extra_forbidden" else e["msg"]
                raise ValueError(f"options.{where}: {msg}") from None
        return self

    def opts(self) -> Any:
        """The adapter's options as its validated model (defaults filled in)."""
        return ADAPTERS[self.adapter].Options(**self.options)

    @field_validator("path")
    @classmethod
    def _non_empty(cls, v: str | list[str]) -> str | list[str]:
        if not v:
            raise ValueError("path must not be empty")
        return v


class ThemeSpec(_Strict):
    """A theme: a slug's label and the police.uk crime types it gathers (``"*"`` = all)."""

    label: str
    crime_types: Literal["*"] | list[str] = Field(min_length=1)
    description: str | None = None


class DualSpec(_Strict):
    """Two themes' KDE surfaces compared cell by cell (same bandwidth: the larger of the two)."""

    numerator: str
    denominator: str
    kind: Literal["ratio", "log_ratio", "difference"] = "ratio"
    min_denominator: float = Field(0.0, ge=0)  # crimes per km²; ratios blank below it


class OverlaySettings(_Strict):
    """Priority neighbourhoods (threat x vulnerability): see :mod:`localprofile.engine.overlay`."""

    # the unit ranked: lsoa, msoa, or the name of a polygons layer (wards, neighbourhood policing
    # areas); None: LSOAs for the force, MSOAs for partners and the public
    unit: str | None = None
    normalise: Literal["rank", "zscore"] = "rank"
    # the themes whose volume, hotspot cells, repeat locations and trend are threat indicators
    # (None: soc_indicators and anti_social_behaviour, where the themes have them)
    themes: list[str] | None = Field(None, min_length=1)
    # vulnerability point layers (schools, care homes) count within this distance of hot cells
    near_hot_cells_m: float = Field(400.0, gt=0)
    # deprivation indicators: imd and any of its domains (income, employment, education, health,
    # crime, housing, environment), each the population-weighted mean rank over a unit's LSOAs
    deprivation: list[Literal["imd", "income", "employment", "education", "health", "crime", "housing",
                              "environment", "idaci"]] = ["imd"]
    # indicator name -> weight (default 1 each); 0 leaves an indicator out
    weights: dict[str, Annotated[float, Field(ge=0)]] = {}
    top: int = Field(10, ge=1)  # the table's length and the sensitivity line's top N


class RtmSettings(_Strict):
    """Risk terrain: see :mod:`localprofile.engine.rtm`."""

    # the themes given a risk terrain (None: the overlay's themes)
    themes: list[str] | None = None
    # spatial influence distances in metres (None: 1, 2 and 3 cell widths)
    distances_m: list[float] | None = None
    folds: int = Field(5, ge=2)

    @field_validator("distances_m")
    @classmethod
    def _positive(cls, v):
        if v is not None and (not v or any(d <= 0 for d in v)):
            raise ValueError("give one or more distances above 0 metres")
        return v


class NominalSettings(_Strict):
    """Nominal prioritisation (force outputs only): see :mod:`localprofile.engine.nominals`."""

    top: int = Field(20, ge=1)  # how many nominals the table lists
    # points per factor (role, offences_12m, violent_12m, grading, recency_months); None: the
    # documented default matrix
    matrix: dict[Literal["role", "offences_12m", "violent_12m", "grading", "recency_months"], dict[Any, float]] | None = None

    @field_validator("matrix")
    @classmethod
    def _numeric_bands(cls, v):
        for factor in ("offences_12m", "violent_12m", "recency_months"):
            for k in (v or {}).get(factor, {}):
                if isinstance(k, bool) or not isinstance(k, (int, float)):
                    raise ValueError(f"{factor}: band '{k}' is not a number (bands are 'at least N' / 'at most N months')")
        return v


class SocThemeSpec(_Strict):
    """A SOC theme (``localprofile/soc_themes.yaml``): the profile themes and catalog layers
    that hold data for it (see :mod:`localprofile.stages.soc_themes`)."""

    label: str
    crime_types: list[str] = []
    themes: list[str] = []
    keywords: list[str] = []
    adapters: list[str] = []
    needs: str | None = None


class BriefingSettings(_Strict):
    """Printed PCSO briefing sheets (``localprofile briefings``): see
    :mod:`localprofile.render.briefings`."""

    # one sheet per unit: msoa (the district's neighbourhoods), lsoa, or the name of a polygons
    # layer (neighbourhood policing areas, wards)
    unit: str = "msoa"
    # the "what to look for" text (plain text or simple Markdown, relative to the catalog); None:
    # the shipped text on signs of exploitation, cuckooing and county lines
    look_for: str | None = None
    top_locations: int = Field(10, ge=1, le=30)  # named map points listed per sheet
    # the themes whose Gi* hot cells and repeat locations each sheet maps (None: the overlay's)
    themes: list[str] | None = Field(None, min_length=1)


class ProfileSettings(_Strict):
    """Profile-wide settings; every ``None`` means "choose automatically and say why"."""

    title: str = "Serious and Organised Crime local profile"
    marking: str = "OFFICIAL"
    # the profile's own version and the date it is next reviewed, shown on the cover (None: the
    # cover says no version is given, and states a review date six months after the latest month)
    version: str | None = None
    review_date: date | None = None
    basemap_tiles: str | None = None
    basemap_attribution: str | None = None
    hotspot_q: float = Field(0.05, gt=0, lt=1)
    # Gi* p-values: analytical (normal) or by conditional permutation; adjusted for multiple
    # testing over the district's cells by p_adjust (Benjamini-Hochberg by default)
    inference: Literal["analytical", "permutation"] = "analytical"
    # at least 9,999 permutations: the smallest pseudo p is then 1e-4, small enough to survive a
    # false discovery rate adjustment over thousands of cells (999 would floor p at 0.001)
    permutations: int = Field(9999, ge=9999)
    p_adjust: Literal["bh", "by", "bonferroni", "holm", "none"] = "bh"
    lisa_permutations: int = Field(9999, ge=9999)
    cell_size_m: float | None = Field(None, gt=0)
    # automatic cell size: sfhotspot's rule (1/50 of the shorter side) or the data-driven peak
    # of incremental spatial autocorrelation
    cell_size_rule: Literal["sfhotspot", "pisa"] = "sfhotspot"
    # Gi* hot and cold cells on squares, or on hexagons of the same area (six equal neighbours)
    grid_shape: Literal["square", "hexagon"] = "square"
    # GeoTIFF surfaces cut to the district (NaN in the buffer) unless false
    clip_outputs: bool = True
    bandwidth_m: float | None = Field(None, gt=0)
    # KDE kernel: quartic (radius = bandwidth; the crime-mapping default), epanechnikov (radius),
    # gaussian (bandwidth = standard deviation, as scikit-learn)
    kernel: Literal["quartic", "epanechnikov", "gaussian"] = "quartic"
    # Audiences: the marking each audience's outputs carry, and the smallest count of a restricted
    # layer shown to partners (smaller counts read "<N").
    markings: dict[Literal["force", "partner", "public"], str] = {
        "force": "OFFICIAL-SENSITIVE",
        "partner": "OFFICIAL-SENSITIVE",
        "public": "OFFICIAL",
    }
    # a strict integer: YAML's `yes`/`true` must not become 1 (which would hide nothing); at
    # least 2, since a threshold of 1 hides no count at all
    suppress_below: StrictInt = Field(5, ge=2)
    harm_weights: str | None = None  # a harm weights file (relative to the catalog); see harm.py
    # the force's MoRiLE-style theme scores (relative to the catalog); see localprofile/scoring.py
    # and templates/scoring_template.yaml. None: the theme table ranks on the data alone
    scoring: str | None = None
    # the audiences the force's theme scores reach (its own assessment, capacity and capability
    # included); the others see the theme table ranked on the data alone
    scoring_for: list[Literal["force", "partner", "public"]] = ["force"]
    # crime rate surfaces (crimes per 1,000 residents) are blank where fewer residents than this
    # live per km² (smoothed like the crimes)
    rate_min_residents_km2: float = Field(100.0, ge=0)
    dual_kde: list[DualSpec] = []
    # change between two periods: the first month of the "after" period (None: the loaded months
    # are split in two halves, the later half "after")
    # repeat locations: police.uk map points (default; joined within repeat_merge_m metres, at
    # most 100 m across), or DBSCAN / HDBSCAN clusters of them (areas, not places)
    repeat_method: Literal["map_point", "dbscan", "hdbscan"] = "map_point"
    repeat_merge_m: float = Field(0.0, ge=0, le=50)
    change_from: str | None = Field(None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    overlay: OverlaySettings = OverlaySettings()
    # the 4P action plan's editable text (relative to the catalog; templates/plan_template.yaml);
    # None: the plan holds the data-driven prompts only
    plan: str | None = None
    # SOC themes added to, replacing (same slug) or removed from (slug: null) soc_themes.yaml
    soc_themes: dict[str, SocThemeSpec | None] = {}
    rtm: RtmSettings = RtmSettings()
    nominals: NominalSettings = NominalSettings()
    briefings: BriefingSettings = BriefingSettings()

    @field_validator("suppress_below", mode="before")
    @classmethod
    def _suppress_not_bool(cls, v: Any) -> Any:
        if isinstance(v, bool):
            raise ValueError(f"must be a whole number of at least 2, not {'yes/true' if v else 'no/false'}; "
                             "small-number suppression cannot be switched off")
        return v

    @field_validator("marking")
    @classmethod
    def _marking_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("a protective marking must not be empty (e.g. OFFICIAL)")
        return v

    @field_validator("markings", mode="after")
    @classmethod
    def _keep_default_markings(cls, v: dict[str, str]) -> dict[str, str]:
        blank = [a for a, m in v.items() if not m.strip()]
        if blank:
            raise ValueError(f"the marking of {blank[0]} outputs must not be empty (e.g. OFFICIAL-SENSITIVE)")
        # Overriding one audience's marking must not drop the others' to the plain marking.
        defaults = {"force": "OFFICIAL-SENSITIVE", "partner": "OFFICIAL-SENSITIVE", "public": "OFFICIAL"}
        return {**defaults, **v}

    def marking_for(self, audience: str | None) -> str:
        """The protective marking of an audience's outputs (``marking`` when none is given)."""
        return self.markings.get(audience, self.marking) if audience else self.marking


AUDIENCES = ("force", "partner", "public")


class Catalog(_Strict):
    """A validated catalog; ``base_dir`` is the folder that relative paths start from."""

    version: Literal[1] = 1
    profile: ProfileSettings = ProfileSettings()
    themes: dict[str, ThemeSpec | None] = {}
    layers: dict[str, LayerSpec]
    source: Path
    base_dir: Path

    @field_validator("layers")
    @classmethod
    def _some_layers(cls, v: dict[str, LayerSpec]) -> dict[str, LayerSpec]:
        if not v:
            raise ValueError("the catalog declares no layers")
        return v

    @model_validator(mode="after")
    def _title_tells_the_truth(self) -> Catalog:
        # one title serves every audience: it must not claim "open data only" for the force's and
        # partners' profiles, which are built with the restricted layers
        restricted = [n for n, s in self.layers.items() if s.sensitivity == "restricted"]
        if restricted and re.search(r"open[\s-]+data[\s-]+only", self.profile.title, re.IGNORECASE):
            raise _KeyedError("profile.title", f"says \"open data only\" but the catalog has restricted layers "
                             f"({', '.join(restricted)}); reword the title (the cover states each "
                             "audience's data)")
        return self

    def paths(self, name: str) -> list[Path]:
        """The files of layer ``name``: globs expanded, sorted; an error if nothing matches."""
        spec = self.layers[name]
        patterns = [spec.path] if isinstance(spec.path, str) else list(spec.path)
        found: list[Path] = []
        for pattern in patterns:
            try:
                rel = Path(pattern).expanduser()
            except RuntimeError:  # "~someone" who does not exist
                raise InputError(
                    f"cannot expand '{pattern}'", file=self.source, key=f"layers.{name}.path"
                ) from None
            full = rel if rel.is_absolute() else self.base_dir / rel
            if glob.has_magic(str(rel)):
                # glob relative to the catalog's folder, whose own name may hold [ or *
                root = None if rel.is_absolute() else self.base_dir
                matches = sorted(
                    Path(p) if root is None else root / p
                    for p in glob.glob(str(rel), root_dir=root, recursive=True)
                )
                if not matches:
                    raise InputError(
                        f"no file matches '{pattern}'", file=self.source, key=f"layers.{name}.path"
                    )
                found.extend(matches)
            else:
                if not full.exists():
                    raise InputError(
                        f"file not found: {full}", file=self.source, key=f"layers.{name}.path"
                    )
                found.append(full)
        return found

    def roles(self) -> dict[str, str]:
        """{role: layer name} for every role a profile needs (one layer each), or an error."""
        needed = dict.fromkeys(m.ROLE for m in ADAPTERS.values() if m.REQUIRED)  # registry order
        return {role: self.by_role(role) for role in needed}

    def with_role(self, role: str) -> list[str]:
        """The names of the layers whose adapter plays ``role`` (any number, catalog order)."""
        return [n for n, s in self.layers.items() if ADAPTERS[s.adapter].ROLE == role]

    def by_role(self, role: str) -> str:
        """The name of the single layer whose adapter plays ``role`` (e.g. ``crimes``)."""
        names = self.with_role(role)
        adapters = sorted(a for a, m in ADAPTERS.items() if m.ROLE == role)
        if not names:
            raise InputError(
                f"no layer provides {role} (add a layer with adapter {' or '.join(adapters)})",
                file=self.source,
                key="layers",
            )
        if len(names) > 1:
            raise InputError(
                f"layers {', '.join(names)} all provide {role}; keep one", file=self.source,
                key="layers",
            )
        return names[0]


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses duplicate keys (plain YAML keeps the last one silently)."""


def _mapping_no_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}'", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_no_duplicates
)


def read_yaml(path: Path, what: str):
    """The YAML file ``path`` (a ``what``: "catalog", "scoring file") as Python values, refusing
    duplicate keys; a missing file, bad text or bad YAML is one line naming the file."""
    if not path.exists():
        raise InputError(f"{what} file not found", file=path)
    if not path.is_file():
        raise InputError(f"{what} path is not a file", file=path)
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except UnicodeDecodeError:
        raise InputError(f"{what} is not UTF-8 text", file=path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise InputError(f"not valid YAML: {where}{problem}", file=path) from None


def load_catalog(path: str | Path) -> Catalog:
    """Read and validate a catalog file; any problem is one :class:`InputError` naming the key."""
    path = Path(path)
    raw = read_yaml(path, "catalog")
    if not isinstance(raw, dict):
        raise InputError("a catalog must be a mapping with a 'layers' key", file=path)
    bad_key = next((k for k in raw if not isinstance(k, str)), None)
    if bad_key is not None:
        raise InputError("keys must be words", file=path, key=str(bad_key))
    reserved = {"source", "base_dir"} & set(raw)
    if reserved:
        raise InputError("key is not allowed in a catalog", file=path, key=sorted(reserved)[0])
    try:
        return Catalog(**raw, source=path, base_dir=path.resolve().parent)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        keyed = err.get("ctx", {}).get("error")
        if isinstance(keyed, _KeyedError):
            key = keyed.key
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            msg = "required key is missing"
        elif err["type"] == "extra_forbidden":
            msg = "unknown key"
        raise InputError(msg, file=path, key=key) from None
