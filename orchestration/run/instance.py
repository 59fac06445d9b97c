"""The Dagster instance a run is recorded in: data/dagster_home beside the warehouse (or
$DAGSTER_HOME), its settings written from the project's orchestration/dagster.yaml."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from orchestration.lib.core.log import log
from orchestration.lib.core.paths import PROJECT_ROOT, Paths

# The project's Dagster instance settings. Not at the project root: `dg dev` (make ui) runs there,
# and Dagster warns about a dagster.yaml in the current folder that DAGSTER_HOME does not name.
INSTANCE_CONFIG = PROJECT_ROOT / "orchestration" / "dagster.yaml"


def instance_config() -> str:
    """The project's dagster.yaml as an instance is given it (Dagster reads an instance's
    settings from $DAGSTER_HOME/dagster.yaml only)."""
    config = yaml.safe_load(INSTANCE_CONFIG.read_text())
    header = f"# Written from {INSTANCE_CONFIG} (orchestration.run.instance.dagster_home): edit that file.\n"
    return header + yaml.safe_dump(config, sort_keys=False)


def write_instance_config(home: Path) -> bool:
    """Write `home`/dagster.yaml from the project's; return whether it changed. The project's
    file is the configuration, so an instance made by an older checkout gets new settings."""
    target = Path(home) / "dagster.yaml"
    wanted = instance_config()
    if target.exists() and target.read_text() == wanted:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    existed = target.exists()
    target.write_text(wanted)
    if existed:
        log(f"{target}: updated from the project's dagster.yaml")
    return True


def dagster_home(paths: Paths) -> str:
    """A persistent Dagster instance beside the warehouse, configured by the repo's dagster.yaml."""
    home = os.environ.get("DAGSTER_HOME") or str(paths.data / "dagster_home")
    os.makedirs(home, exist_ok=True)
    write_instance_config(Path(home))
    os.environ["DAGSTER_HOME"] = home
    return home
