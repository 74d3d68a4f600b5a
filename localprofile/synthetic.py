"""Synthetic restricted force layers for West Yorkshire: OCG members, CSE locations, vulnerable
persons, repeat offenders and the OCG nominals' records for prioritisation. SYNTHETIC: none of it is real, and every file, row and catalog entry
says so.

No real data of this kind exists in the open or may be used, so tests and demos need stand-ins
that behave like the real extracts: records with identifiers, placed where people live, weighted
towards deprived neighbourhoods as force data typically is, and located at real postcodes (OS
Code-Point Open) as force systems geocode them. A seeded generator makes the files reproducible:
``localprofile synthesize --out DIR`` writes exactly the files shipped in ``data/restricted``.

>>> from localprofile.demo import demo_catalog_path
>>> from localprofile.catalog import load_catalog
>>> layers = generate_frames(load_catalog(demo_catalog_path()), seed=1)
>>> sorted(layers)
['cse_locations', 'nominals', 'ocg_members', 'repeat_offenders', 'vulnerable_persons']
>>> bool((layers["ocg_members"]["Synthetic"] == MARK).all())
True
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .catalog import Catalog
from .loading import LoadContext

SEED = 20261125
MARK = "SYNTHETIC - not real data"
FILES = {
    "ocg_members": "SYNTHETIC_ocg_members.csv",
    "cse_locations": "SYNTHETIC_cse_locations.csv",
    "vulnerable_persons": "SYNTHETIC_vulnerable_persons.csv",
    "repeat_offenders": "SYNTHETIC_repeat_offenders.csv",
    "nominals": "SYNTHETIC_nominals.csv",
}
GRADES = [f"{s}{a}" for s in "123" for a in "ABCDE"]  # 3x5x2: source 1-3, intelligence A-E
OCG_ROLES = ["Significant member"] * 1 + ["Peripheral member"] * 2  # plus one principal per OCG
CSE_TYPES = ["Hotel", "Park", "Takeaway", "Private address", "Taxi rank", "Shopping centre", "Car park"]
VULNERABILITIES = ["Missing child", "Mental health", "Drug dependency", "Exploitation risk", "Elderly fraud victim"]
OFFENCES = ["Burglary", "Shoplifting", "Vehicle crime", "Violence", "Drugs supply", "Criminal damage"]


def _postcodes_by_lsoa(ctx: LoadContext) -> pd.DataFrame:
    """Live postcodes with coordinates and their LSOA: the places records can be."""
    names = ctx.catalog.with_role("postcodes")
    frames = [ctx.layer(n).frame for n in names]
    from .geocode import Geocoder

    table = Geocoder.combine(frames).table
    table = table[~table["terminated"] & table["lsoa_code"].notna() & table["easting"].notna()]
    return table.reset_index().sort_values("postcode", ignore_index=True)


def generate_frames(catalog: Catalog, seed: int = SEED) -> dict[str, pd.DataFrame]:
    """The four synthetic layers as tables, placed with the catalog's real open layers."""
    ctx = LoadContext(catalog)
    roles = catalog.roles()
    pop = ctx.layer(roles["population"]).frame.set_index("lsoa_code")["population"]
    imd = ctx.layer(roles["deprivation"]).frame.set_index("lsoa_code")["imd_decile"]
    lookup = ctx.layer(roles["lookup"]).frame.set_index("lsoa_code")
    pcs = _postcodes_by_lsoa(ctx)
    pcs = pcs[pcs["lsoa_code"].isin(pop.index) & pcs["lsoa_code"].isin(imd.index)]
    lsoas = np.array(sorted(set(pcs["lsoa_code"])))
    # Residents, weighted towards deprivation: decile 1 counts (11 - 1)^2 = 100 times decile 10.
    weight = pop.reindex(lsoas).to_numpy(float) * (11 - imd.reindex(lsoas).to_numpy(float)) ** 2
    weight /= weight.sum()
    rng = np.random.default_rng(seed)
    # Sorted by LSOA, each LSOA's postcodes are contiguous rows: start + offset picks one.
    pcs = pcs.sort_values(["lsoa_code", "postcode"], ignore_index=True)
    pcs_lsoa = pcs["lsoa_code"].to_numpy(dtype=str)

    def place(lsoa_codes: np.ndarray) -> pd.DataFrame:
        """A random live postcode in each LSOA (vectorised over the LSOAs' postcode counts)."""
        starts = np.searchsorted(pcs_lsoa, lsoa_codes, side="left")
        sizes = np.searchsorted(pcs_lsoa, lsoa_codes, side="right") - starts
        rows = pcs.iloc[starts + (rng.random(len(lsoa_codes)) * sizes).astype(int)]
        return pd.DataFrame({
            "Postcode": rows["postcode"].to_numpy(),
            "Easting": rows["easting"].to_numpy().astype(int),
            "Northing": rows["northing"].to_numpy().astype(int),
            "District": lookup.reindex(lsoa_codes)["lad_name"].to_numpy(),
        })

    out: dict[str, pd.DataFrame] = {}

    # OCGs: a home LSOA each; members live in the home LSOA's MSOA or its district.
    n_ocg = 14
    homes = rng.choice(lsoas, size=n_ocg, p=weight)
    members = []
    for k, home in enumerate(homes):
        size = int(rng.integers(4, 11))
        msoa = lookup.loc[home, "msoa_code"]
        near = lsoas[lookup.reindex(lsoas)["msoa_code"].to_numpy() == msoa]
        w = weight[np.isin(lsoas, near)]
        where = rng.choice(near, size=size, p=w / w.sum())
        roles_k = rng.choice(OCG_ROLES, size=size)
        roles_k[0] = "Principal member"
        members.append(pd.DataFrame({
            "OCG ID": f"OCG-SYN-{k + 1:03d}",
            "Nominal ID": [f"N-SYN-{k + 1:03d}-{i + 1:02d}" for i in range(size)],
            "Role": roles_k,
            "lsoa": where,
        }))
    ocg = pd.concat(members, ignore_index=True)
    out["ocg_members"] = pd.concat([ocg.drop(columns="lsoa"), place(ocg["lsoa"].to_numpy())], axis=1)

    # CSE locations: public places in busy, deprived areas.
    n = 45
    where = rng.choice(lsoas, size=n, p=weight)
    out["cse_locations"] = pd.concat([pd.DataFrame({
        "Location ID": [f"CSE-SYN-{i + 1:03d}" for i in range(n)],
        "Location type": rng.choice(CSE_TYPES, size=n),
        "Reports 12m": rng.integers(1, 9, size=n),
    }), place(where)], axis=1)

    n = 320
    where = rng.choice(lsoas, size=n, p=weight)
    out["vulnerable_persons"] = pd.concat([pd.DataFrame({
        "Person ID": [f"VP-SYN-{i + 1:04d}" for i in range(n)],
        "Vulnerability": rng.choice(VULNERABILITIES, size=n),
    }), place(where)], axis=1)

    n = 160
    where = rng.choice(lsoas, size=n, p=weight)
    out["repeat_offenders"] = pd.concat([pd.DataFrame({
        "Offender ID": [f"RO-SYN-{i + 1:04d}" for i in range(n)],
        "Main offence": rng.choice(OFFENCES, size=n),
        "Offences 12m": 3 + rng.poisson(3, size=n),
    }), place(where)], axis=1)

    # The OCG members' nominal records (offending, intelligence grading and recency), from a
    # stream of their own so the other files stay as they were.
    nrng = np.random.default_rng([seed, 5])
    m = out["ocg_members"]
    lead = (m["Role"] == "Principal member").to_numpy()
    n = len(m)
    out["nominals"] = pd.DataFrame({
        "Nominal ID": m["Nominal ID"].to_numpy(),
        "OCG ID": m["OCG ID"].to_numpy(),
        "Role": m["Role"].to_numpy(),
        "Offences 12m": nrng.poisson(np.where(lead, 2.0, 4.0)),
        "Violent offences 12m": nrng.poisson(np.where(lead, 0.5, 1.0)),
        "Intelligence grading": nrng.choice(GRADES, size=n, p=np.array([8, 10, 6, 2, 1, 6, 9, 8, 3, 1, 2, 3, 4, 2, 1]) / 66),
        "Last intelligence": [f"2017-{mm:02d}" for mm in nrng.integers(1, 8, size=n)],
        "Postcode": m["Postcode"].to_numpy(), "Easting": m["Easting"].to_numpy(),
        "Northing": m["Northing"].to_numpy(), "District": m["District"].to_numpy(),
    })

    for df in out.values():
        df["Synthetic"] = MARK
    return out


def generate(catalog: Catalog, out_dir: Path, seed: int = SEED) -> dict[str, Path]:
    """Write the four synthetic layers as CSVs in ``out_dir``; returns {layer: path}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, df in generate_frames(catalog, seed).items():
        path = out_dir / FILES[name]
        df.to_csv(path, index=False, lineterminator="\n")
        written[name] = path
    return written
