"""Step 2, acceptance 6, table-driven: every CSV adapter names the file and the column it misses,
and refuses text in the wrong encoding with one clear line."""

from __future__ import annotations

import pytest
from conftest import write_catalog

from localprofile.catalog import LayerSpec, load_catalog
from localprofile.errors import InputError
from localprofile.layers import ADAPTERS
from localprofile.loading import LoadContext

# adapter -> (a valid header and row, the required column to remove, options)
CASES = {
    "police_uk_street": ("Crime ID,Month,Longitude,Latitude,LSOA code,Crime type\nx1,2017-07,-1.55,53.80,E01011698,Drugs\n", "Longitude", {}),
    "lsoa_lookup": ("LSOA11CD,LAD19CD,LAD19NM\nE01011698,E08000035,Leeds\n", "LAD19CD", {}),
    "imd2019": ("lsoa11_code,IMD_rank,IMD_decile\nE01011698,100,1\n", "IMD_decile", {}),
    "iod2025": ("LSOA code (2021),IMD_rank,IMD_decile\nE01011698,100,1\n", "IMD_rank", {}),
    "census2011_population": ("LSOA Code,Persons\nE01011698,\"1,500\"\n", "Persons", {}),
    "census2021_population": ("date,geography,geography code,Residence type: Total; measures: Value\n2021,Leeds 001A,E01011698,1500\n", "geography code", {}),
    "lsoa11_lsoa21_lookup": ("LSOA11CD,LSOA21CD,CHGIND\nE01011698,E01011698,U\n", "CHGIND", {}),
    "ons_postcode_directory": ("pcds,doterm,lsoa11cd\nLS1 1UR,,E01033010\n", "pcds", {}),
    "schools": ("URN,EstablishmentName,Postcode\n1,A School,LS1 1UR\n", "EstablishmentName", {}),
    "points": ("Ref,Postcode\nA,LS1 1UR\n", "Postcode", {"columns": {"id": "Ref", "postcode": "Postcode"}}),
    "police_uk_stop_search": ("Type,Date,Latitude,Longitude,Gender,Age range,Legislation,Object of search,Outcome\n"
                              "Person search,2017-07-01T10:00:00+00:00,53.8,-1.55,Male,18-24,Misuse of Drugs Act 1971 (section 23),Controlled drugs,Arrest\n",
                              "Latitude", {}),
    "police_uk_outcomes": ("Crime ID,Month,Longitude,Latitude,LSOA code,Outcome type\nx1,2017-07,-1.55,53.8,E01011698,Suspect charged\n", "Outcome type", {}),
    "lsoa_table": ("LSOA11CD,Reports\nE01011698,3\n", "LSOA11CD", {"code": "LSOA11CD"}),
    "nominals": ("Nominal ID,Role,Offences 12m,Intelligence grading,Last intelligence,Easting,Northing\n"
                 "N1,Principal member,3,1B,2017-06,430000,433000\n", "Intelligence grading", {}),
}
NAMES = {"police_uk_street": "2017-07-west-yorkshire-street.csv",
         "police_uk_stop_search": "2017-07-west-yorkshire-stop-and-search.csv",
         "police_uk_outcomes": "2017-07-west-yorkshire-outcomes.csv"}


def _load(tmp_path, adapter, text, encoding="utf-8", layer_encoding="auto", options=None):
    path = tmp_path / NAMES.get(adapter, f"{adapter}.csv")
    path.write_bytes(text.encode(encoding))
    spec = LayerSpec(adapter=adapter, path=str(path), vintage="v", licence="l", attribution="a",
                     sensitivity="restricted" if adapter == "nominals" else "open", encoding=layer_encoding, options=options or {})
    ctx = LoadContext(load_catalog(write_catalog(tmp_path)))
    return ADAPTERS[adapter].load([path], spec, ctx), path


def test_every_csv_adapter_is_covered():
    csv_adapters = set(ADAPTERS) - {"lsoa_boundaries", "raster", "codepoint_open", "polygons", "roads"}  # no named columns / not CSV
    assert csv_adapters == set(CASES)


@pytest.mark.parametrize("adapter", sorted(CASES))
def test_valid_row_loads(tmp_path, adapter):
    text, _, options = CASES[adapter]
    data, _ = _load(tmp_path, adapter, text, options=options)
    acc = data.account
    assert acc.read == 1 and acc.read == acc.used + acc.n_dropped


@pytest.mark.parametrize("adapter", sorted(CASES))
def test_missing_column_names_file_and_column(tmp_path, adapter):
    text, column, options = CASES[adapter]
    header, row = text.splitlines()[:2]
    cols = header.split(",")
    i = cols.index(column)
    values = row.split(",") if '"' not in row else row.replace('"1,500"', "1500").split(",")
    broken = ",".join(c for j, c in enumerate(cols) if j != i) + "\n" + ",".join(v for j, v in enumerate(values) if j != i) + "\n"
    with pytest.raises(InputError) as exc:
        _load(tmp_path, adapter, broken, options=options)
    msg = str(exc.value)
    # the file, and the column (as named, or among the names the adapter accepts for it)
    assert NAMES.get(adapter, adapter) in msg and column in msg and "column '" in msg, msg


@pytest.mark.parametrize("adapter", sorted(CASES))
def test_wrong_encoding_is_one_clear_line(tmp_path, adapter):
    text, _, options = CASES[adapter]
    header, row = text.splitlines()[:2]
    # a Windows-1252 file (an accented name), declared as UTF-8 in the catalog
    with pytest.raises(InputError) as exc:
        _load(tmp_path, adapter, f"{header}\n{row}é\n", encoding="cp1252", layer_encoding="utf-8", options=options)
    msg = str(exc.value)
    assert "not valid utf-8 text" in msg and "encoding" in msg and "\n" not in msg
