"""The Dagster UI, checked in a real browser: owners, groups, kinds, descriptions, check results
and numeric metadata (latest NPS, CSAT, at-risk count) are visible.

Runs the pipeline once on the small demo preset (a temporary DAGSTER_HOME and data folder), then
starts `dagster-webserver -m orchestration.definitions` on a free port of 127.0.0.1, opens the
asset lineage and asset pages in headless Debian Chromium, reads the rendered text, and saves
screenshots to tests/artifacts/. The server is always stopped (bounded waits, killed in
`finally`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from orchestration.run.instance import write_instance_config
from tests.browser import artifacts_dir, chromium_page, free_port, require_chromium

ROOT = Path(__file__).resolve().parents[1]
LOCATION = "orchestration.definitions"  # the code location's name when loaded with -m
STARTUP_SECONDS = 240


def _env(data: Path, home: Path) -> dict[str, str]:
    env = os.environ.copy()
    env.update(
        CHW_LANDING_DIR=str(data / "landing"),
        CHW_WAREHOUSE=str(data / "warehouse.duckdb"),
        CHW_DATA_DIR=str(data),
        DAGSTER_HOME=str(home),
        DAGSTER_DISABLE_TELEMETRY="1",
        DBT_SEND_ANONYMOUS_USAGE_STATS="False",
        GX_ANALYTICS_ENABLED="False",
    )
    for key in ("CHW_RAW_DIR", "CHW_AUDIT_DIR", "CHW_MODELS_DIR"):
        env.pop(key, None)
    return env


def _graphql(base: str, query: str) -> dict:
    req = urllib.request.Request(
        f"{base}/graphql", data=json.dumps({"query": query}).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def webserver(tmp_path_factory):
    require_chromium()
    data = tmp_path_factory.mktemp("ui_data")
    home = tmp_path_factory.mktemp("ui_home")
    write_instance_config(home)  # telemetry off, pools, event log storage
    env = _env(data, home)
    # one real pipeline run on the small demo preset first (100 days, so NPS surveys were sent;
    # it also prepares the dbt manifest the code location loads): the UI then has
    # materializations, check results and metadata to show
    run = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "run", "--preset", "small"],
        cwd=ROOT, env=env, timeout=1200, capture_output=True, text=True,
    )
    assert run.returncode == 0, f"pipeline run failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(data / "webserver.log", "w")  # noqa: SIM115 - closed in finally
    webserver_bin = os.path.join(os.path.dirname(sys.executable), "dagster-webserver")
    proc = subprocess.Popen(
        [webserver_bin, "-h", "127.0.0.1", "-p", str(port), "-m", LOCATION],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if proc.poll() is not None:
                pytest.fail(f"dagster-webserver exited {proc.returncode}:\n{(data / 'webserver.log').read_text()[-4000:]}")
            try:
                with urllib.request.urlopen(f"{base}/server_info", timeout=5) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"dagster-webserver did not answer in {STARTUP_SECONDS} s:\n"
                            f"{(data / 'webserver.log').read_text()[-4000:]}")
            time.sleep(1)
        # the code location has loaded (not only the webserver)
        while True:
            status = _graphql(base, "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
                                    "locationOrLoadError { __typename ... on PythonError { message } } } } } }")
            entries = status["data"]["workspaceOrError"]["locationEntries"]
            if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                errors = [e for e in entries if e["locationOrLoadError"]["__typename"] == "PythonError"]
                assert not errors, f"code location failed to load: {errors}"
                break
            if time.monotonic() > deadline:
                pytest.fail(f"code location did not load in {STARTUP_SECONDS} s: {entries}")
            time.sleep(1)
        yield base
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # the webserver and the code server it started
            proc.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=30)
        log.close()


def _dismiss_popups(page) -> None:
    """The UI's first-visit dialog ("Join the Dagster community"): Skip."""
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.first.wait_for(state="visible", timeout=5_000)
        skip.first.click()
    except Exception:  # no dialog this time
        pass


def _asset_keys(base: str) -> set[str]:
    data = _graphql(base, "{ assetNodes { assetKey { path } } }")
    return {"/".join(n["assetKey"]["path"]) for n in data["data"]["assetNodes"]}


def test_asset_graph_shows_groups_and_kinds(webserver):
    shots = artifacts_dir()
    with chromium_page(width=1600, height=1000) as page:
        page.goto(f"{webserver}/asset-groups")
        _dismiss_popups(page)
        page.get_by_text("Global asset lineage").first.wait_for(timeout=60_000)
        page.get_by_text("marts", exact=True).first.wait_for(timeout=60_000)
        text = page.inner_text("body")
        for group in ("raw", "staging", "intermediate", "marts"):
            assert group in text, f"group {group} not shown in the asset graph"
        page.screenshot(path=str(shots / "dagster_asset_graph.png"))

        page.goto(f"{webserver}/locations/{LOCATION}/asset-groups/marts/lineage")
        _dismiss_popups(page)
        page.get_by_text("Asset Group in").first.wait_for(timeout=60_000)
        page.get_by_text("DuckDB", exact=True).first.wait_for(timeout=60_000)  # nodes drawn (the graph is lazy)
        page.wait_for_timeout(1_500)
        text = page.inner_text("body")
        assert "marts" in text
        assert "dbt" in text and "DuckDB" in text  # kinds, drawn under each node
        page.screenshot(path=str(shots / "dagster_marts_lineage.png"))


def test_mart_page_shows_owners_group_kinds_description(webserver):
    with chromium_page(width=1600, height=1000) as page:
        page.goto(f"{webserver}/assets/marts/metric_values")
        _dismiss_popups(page)
        page.get_by_text("Owners", exact=True).first.wait_for(timeout=60_000)
        page.get_by_text("One row per", exact=False).first.wait_for(timeout=60_000)
        text = page.inner_text("body")
        assert "Group" in text and "marts" in text
        assert "Owners" in text and "analytics-engineering" in text and "customer-success-ops" in text
        assert "Kinds" in text and "dbt" in text and "DuckDB" in text
        assert "Description" in text and "One row per metric" in text
        page.screenshot(path=str(artifacts_dir() / "dagster_metric_values.png"))


def test_serve_assets_in_the_ui(webserver):
    assert "serve/dashboard" in _asset_keys(webserver)
    with chromium_page(width=1600, height=1000) as page:
        page.goto(f"{webserver}/assets/serve/dashboard")
        _dismiss_popups(page)
        page.get_by_text("Owners", exact=True).first.wait_for(timeout=60_000)
        page.get_by_text("Static customer-health dashboard", exact=False).first.wait_for(timeout=60_000)
        text = page.inner_text("body")
        assert "serve" in text and "customer-success-ops" in text and "data-engineering" in text
        assert "HTML" in text or "html" in text
        page.screenshot(path=str(artifacts_dir() / "dagster_serve_dashboard.png"))
        page.goto(f"{webserver}/locations/{LOCATION}/asset-groups/serve/lineage")
        _dismiss_popups(page)
        page.get_by_text("Asset Group in").first.wait_for(timeout=60_000)
        page.get_by_text("marts_duckdb", exact=True).first.wait_for(timeout=60_000)
        page.wait_for_timeout(1_500)
        assert "Parquet" in page.inner_text("body") or "parquet" in page.inner_text("body")
        page.screenshot(path=str(artifacts_dir() / "dagster_serve_lineage.png"))


def test_check_results_and_metadata_in_the_ui(webserver):
    """After a run: the blocking survey check's result on the responses asset, and the latest
    NPS / CSAT / at-risk figures as numeric metadata of the dashboard asset."""
    with chromium_page(width=1600, height=1100) as page:
        page.goto(f"{webserver}/assets/raw/survey/responses?view=checks")
        _dismiss_popups(page)
        page.get_by_text("scale_consistency", exact=True).first.wait_for(timeout=60_000)
        page.wait_for_timeout(1_500)
        text = page.inner_text("body")
        assert "scale_consistency" in text and "no_rejected_files" in text and "fresh" in text
        assert any(word in text for word in ("Passed", "Succeeded", "Failed", "Warning")), \
            "no check result shown"
        page.screenshot(path=str(artifacts_dir() / "dagster_responses_checks.png"))

        page.goto(f"{webserver}/assets/serve/dashboard")
        _dismiss_popups(page)
        page.get_by_text("latest_nps", exact=True).first.wait_for(timeout=60_000)
        page.wait_for_timeout(1_000)
        text = page.inner_text("body")
        for label in ("latest_nps", "latest_csat_pct", "at_risk_accounts"):
            assert label in text, f"{label} not shown on the dashboard asset"
        page.screenshot(path=str(artifacts_dir() / "dagster_dashboard_metadata.png"), full_page=True)
