"""The dbt project's layout follows one grammar (docs/ARCHITECTURE.md "dbt names"), read from the files.

- staging models are `stg_<source>__<entity>` in models/staging/<source>/, intermediate models
  `int_<area>__<what>` in models/intermediate/<area>/, and an area named after a source is spelled
  as that source (survey, not surveys);
- every model folder's YAML is `_<folder>__models.yml` (models and their data tests),
  `_<folder>__sources.yml` (sources) or `_<folder>__unit_tests.yml` (unit tests of its own models);
- staging does not cast a contract column to the type raw holds it in already (docs/contract.md,
  orchestration/lib/core/contract.py): a timestamp cast stays, Spark reading raw's zone-less Parquet
  timestamps as timestamp_ntz.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from orchestration.lib.core import contract

pytestmark = pytest.mark.unit

MODELS = Path(__file__).resolve().parents[1] / "dbt_project" / "models"
KINDS = {"models": "models", "sources": "sources", "unit_tests": "unit_tests"}
CAST_TYPES = {"{{ dbt.type_string() }}": contract.TEXT, "{{ dbt.type_int() }}": contract.INT,
              "{{ dbt.type_boolean() }}": contract.BOOL, "{{ type_double() }}": contract.DOUBLE,
              "date": contract.DATE, "{{ dbt.type_timestamp() }}": contract.TS}
CAST = re.compile(r"cast\((\w+) as (.+?)\) as (\w+)")


def model_folders() -> list[Path]:
    return sorted({p.parent for p in MODELS.rglob("*.sql")} | {p.parent for p in MODELS.rglob("*.yml")})


def test_model_names_follow_the_grammar():
    wrong = []
    for layer, prefix in (("staging", "stg"), ("intermediate", "int")):
        for sql in sorted((MODELS / layer).rglob("*.sql")):
            if not re.fullmatch(rf"{prefix}_{sql.parent.name}__[a-z0-9_]+", sql.stem):
                wrong.append(str(sql.relative_to(MODELS)))
    assert wrong == [], f"not {{stg_<source>|int_<area>}}__<what> in the folder of its source or area: {wrong}"


def test_an_area_named_after_a_source_is_spelled_as_the_source():
    sources = {p.name for p in (MODELS / "staging").iterdir() if p.is_dir()}
    areas = {p.name for p in (MODELS / "intermediate").iterdir() if p.is_dir()}
    assert {a for a in areas if a not in sources and a.rstrip("s") in {s.rstrip("s") for s in sources}} == set()


def test_each_folder_has_models_sources_and_unit_tests_yaml():
    wrong = []
    for folder in model_folders():
        for yml in sorted(folder.glob("*.yml")):
            kind = re.fullmatch(rf"_{folder.name}__(models|sources|unit_tests)\.yml", yml.name)
            keys = set(yaml.safe_load(yml.read_text())) - {"version"}
            if kind is None or keys != {KINDS[kind.group(1)]}:
                wrong.append(f"{yml.relative_to(MODELS)} ({sorted(keys)})")
                continue
            if kind.group(1) == "unit_tests":  # beside the model it tests
                here = {p.stem for p in folder.glob("*.sql")}
                wrong += [f"{yml.relative_to(MODELS)}: {t['name']} tests {t['model']}, not a model of this folder"
                          for t in yaml.safe_load(yml.read_text())["unit_tests"] if t["model"] not in here]
    assert wrong == []


def test_staging_casts_only_what_raw_does_not_hold_in_that_type():
    redundant = []
    for sql in sorted((MODELS / "staging").rglob("*.sql")):
        text = sql.read_text()
        read = set(re.findall(r"source\('(\w+)', '(\w+)'\)", text))
        types = {c.name: c.type for s, e in read for c in contract.entity(s, e).columns}
        for column, to, name in CAST.findall(text):
            cast_type = CAST_TYPES.get(to)
            if column == name and types.get(column) == cast_type and cast_type != contract.TS:
                redundant.append(f"{sql.name}: cast({column} as {to})")
    assert redundant == [], f"raw holds these columns in that type already: {redundant}"
