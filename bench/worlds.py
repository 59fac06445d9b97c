"""Does the health score hold on histories it was not tuned on? (issue 30, section 2)

For each latent process ("world") of the demo generator (orchestration/lib/demo/config.py WORLDS):
generate the `worlds` preset (400 accounts over 18 months) with its truth file beside the landing
zone, run the whole pipeline (`python -m orchestration.cli run`), then score every resolved
renewal 45 days ahead: the account's marts.account_health row on renewal_date - 45 days (the
latest on or before it, within a week: days older than daily_history_days are scored on Mondays
only). Printed per world, next to the same figures for the process's own churn probability (the
oracle: what the process drew churn with, known 45 days before):

  AUC          model (churn_probability if account_health has it, else -health_score) / oracle
  red lift     churn rate of renewals whose score was red / churn rate of all of them
  calibration  mean |mean predicted - churn rate| over ten equal-count bins of the prediction;
               without churn_probability, health_score is mapped to a probability by a logistic
               fit on these same renewals (in sample: flatters the model's calibration a little)

Those figures read the model in force, fitted on most of these renewals (in sample). Held out in
time (step `heldout`, heldout_scores): the renewals scored in the latest --test-share of score
dates, each block of them scored by the churn model refitted as the pipeline fits it on the
renewals resolved before the block began; AUC with a bootstrap interval, next to the oracle's AUC
on the same renewals. Preset `worlds_large` leaves about 80 held-out churns per world (`worlds`:
15-20, an AUC standard error of 0.07).

Not a test: it takes minutes per world. Run one world at a time on a shared machine:

    nice -n 10 .venv/bin/python bench/worlds.py --preset worlds_large --workdir /tmp/chw_worlds_l
    .venv/bin/python bench/worlds.py --steps measure   # measure again, on the warehouses of the last run
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
TARGETS = {"auc_gap": 0.05, "red_lift": 3.0, "calibration_error": 0.05}

def meets_targets(out: dict) -> dict[str, bool]:
    """Which of the issue's targets a world's figures meet (missing figures meet none)."""
    return {
        "auc": out["auc"] is not None and out["oracle_auc"] is not None
        and out["auc"] >= out["oracle_auc"] - TARGETS["auc_gap"],
        "red_lift": out["red_lift"] is not None and out["red_lift"] >= TARGETS["red_lift"],
        "calibration": out["calibration_error"] is not None and out["calibration_error"] <= TARGETS["calibration_error"],
    }



def log(msg: str) -> None:
    print(f"[worlds {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def pipeline_env(landing: Path, data: Path) -> dict[str, str]:
    env = os.environ.copy()
    env.update(CHW_LANDING_DIR=str(landing), CHW_WAREHOUSE=str(data / "warehouse.duckdb"), CHW_DATA_DIR=str(data),
               DAGSTER_HOME=str(data / "dagster_home"), DAGSTER_DISABLE_TELEMETRY="1",
               DBT_SEND_ANONYMOUS_USAGE_STATS="False", GX_ANALYTICS_ENABLED="False")
    for key in ("CHW_RAW_DIR", "CHW_AUDIT_DIR", "CHW_MODELS_DIR"):
        env.pop(key, None)
    return env


def run(cmd: list[str], env: dict[str, str] | None, log_path: Path) -> float:
    t0 = time.perf_counter()
    with open(log_path, "w") as fh:
        code = subprocess.call(cmd, cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT)
    secs = time.perf_counter() - t0
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {code}: see {log_path}")
    return secs


# --- the measurement ---------------------------------------------------------------------------

def scored_renewals(warehouse: Path, truth: Path, ahead: int = 45) -> tuple[pd.DataFrame, str]:
    """Resolved renewals with the account's score `ahead` days before and the truth's churn
    probability: account_id, renewal_date, churned, as_of_date, health_score, health_band,
    predicted, truth_p, truth_churned. Second value: where `predicted` comes from."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        cols = {r[0] for r in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'marts' and table_name = 'account_health'").fetchall()}
        has_p = "churn_probability" in cols
        frame = con.execute(f"""
            with renewals as (
                select account_id, renewal_date, cast(churned as integer) as churned,
                       cast(renewal_date - interval {int(ahead)} day as date) as scored_on
                from intermediate.int_health__renewals
                where is_resolved
            ),
            scores as (
                select account_id, as_of_date, health_score, health_band,
                       {'churn_probability' if has_p else 'cast(null as double)'} as churn_probability
                from marts.account_health
                where health_score is not null
            ),
            truth as (
                select account_id, cast(date as date) as renewal_date, churn_probability as truth_p,
                       cast(churned as integer) as truth_churned, term
                from read_csv('{truth}', header = true, all_varchar = false)
                where event = 'renewal'
            )
            select renewals.account_id, renewals.renewal_date, renewals.churned, scores.as_of_date,
                   scores.health_score, scores.health_band, scores.churn_probability,
                   truth.truth_p, truth.truth_churned, truth.term
            from renewals
            asof inner join scores
                on renewals.account_id = scores.account_id and renewals.scored_on >= scores.as_of_date
            left join truth
                on renewals.account_id = truth.account_id and renewals.renewal_date = truth.renewal_date
            where scores.as_of_date > renewals.scored_on - interval 7 day
            order by renewals.renewal_date, renewals.account_id
        """).df()
    finally:
        con.close()
    if has_p:
        frame["predicted"] = frame["churn_probability"].astype(float)
        return frame, "account_health.churn_probability"
    frame["predicted"] = _logistic_map(frame["health_score"].to_numpy(float), frame["churned"].to_numpy(int))
    return frame, "health_score, logistic map fitted on these renewals (in sample)"


def _logistic_map(score: np.ndarray, y: np.ndarray) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    if len(np.unique(y)) < 2:
        return np.full(len(y), y.mean() if len(y) else np.nan)
    model = LogisticRegression(C=1e6, max_iter=1000).fit(score[:, None] / 100.0, y)
    return model.predict_proba(score[:, None] / 100.0)[:, 1]


def auc(y: np.ndarray, risk: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, risk)) if len(np.unique(y)) == 2 else None


def calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float | None:
    """Mean over `bins` equal-count bins of the prediction of |mean predicted - observed rate|."""
    if len(y) < bins:
        return None
    order = np.argsort(p, kind="stable")
    return float(np.mean([abs(p[b].mean() - y[b].mean()) for b in np.array_split(order, bins)]))


def measure(frame: pd.DataFrame) -> dict:
    y = frame["churned"].to_numpy(int)
    base = float(y.mean()) if len(y) else None
    red = frame["health_band"] == "red"
    red_rate = float(y[red.to_numpy()].mean()) if red.any() else None
    known = frame["truth_p"].notna().to_numpy()
    yk, tp = y[known], frame["truth_p"].to_numpy(float)[known]
    out = {
        "renewals": int(len(y)), "churned": int(y.sum()), "churn_rate": base,
        "auc": auc(y, frame["predicted"].to_numpy(float)),
        "red_renewals": int(red.sum()), "red_lift": red_rate / base if red_rate is not None and base else None,
        "calibration_error": calibration_error(y, frame["predicted"].to_numpy(float)),
        "renewals_with_truth": int(known.sum()),
        "truth_label_agreement": float((frame["truth_churned"][known] == frame["churned"][known]).mean())
        if known.any() else None,
        "oracle_auc": auc(yk, tp), "oracle_calibration_error": calibration_error(yk, tp),
    }
    out["meets"] = meets_targets(out)
    return out


def bootstrap_auc(y: np.ndarray, risk: np.ndarray, reps: int = 1000, seed: int = 0) -> tuple[float, float] | None:
    """95 % percentile interval of the AUC over renewals resampled with replacement."""
    from sklearn.metrics import roc_auc_score

    if len(np.unique(y)) < 2:
        return None
    rng, vals = np.random.default_rng(seed), []
    for _ in range(reps):
        i = rng.integers(0, len(y), len(y))
        if 0 < y[i].sum() < len(i):
            vals.append(roc_auc_score(y[i], risk[i]))
    return float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))


def heldout_scores(warehouse: Path, truth: Path, ahead: int = 45, test_share: float = 0.4, folds: int = 3,
                   ablate: tuple[str, ...] = ()) -> tuple[pd.DataFrame, list[dict]]:
    """The churn model as the pipeline fits it, judged on renewals it could not have seen.

    Rolling origin: the renewals whose score date (renewal_date - ahead) falls in the latest
    `test_share` of score dates are cut, by score date, into `folds` consecutive blocks. Each
    block is scored by a model fitted (fit_outcome_model: selection, calibration and bands as in
    the pipeline) on the renewals resolved before the block's first score date only: a renewal's
    prediction uses nothing known after the day it is made. Features come from
    int_health__model_inputs exactly as the pipeline builds them (build_features: each day from
    that day's and earlier rows). `ablate`: features blanked (NaN) everywhere, to measure what
    they are worth. Returns one row per scored renewal (account_id, renewal_date, churned,
    predicted, band, fold, truth_p, term) and per block what was fitted."""
    from threadpoolctl import threadpool_limits

    from orchestration.lib.core import settings
    from orchestration.lib.models import churn_model as cm
    from orchestration.lib.models import health_model

    health = settings.load()["health"]
    cfg = dict(health.get("model", {}))
    window = tuple(int(v) for v in health["training_window_days"])
    grace = int(health.get("churn_grace_days", 0))
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        have = {r[0] for r in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'intermediate' and table_name = 'int_health__model_inputs'").fetchall()}
        cols = ", ".join(c for c in cm.INPUT_COLUMNS if c in have)
        inputs = con.execute(f"select {cols} from intermediate.int_health__model_inputs "
                             "order by account_id, as_of_date").df()
        renewals = con.execute("select account_id, renewal_date, cast(churned as integer) as churned "
                               "from intermediate.int_health__renewals where is_resolved").df()
    finally:
        con.close()
    renewals["renewal_date"] = pd.to_datetime(renewals["renewal_date"]).astype("datetime64[ns]")
    feats = cm.build_features(inputs, renewal_window=window)
    for f in ablate:
        feats[f] = np.nan
    x_all = feats[cm.FEATURE_NAMES].to_numpy(dtype="float64")
    keyed = feats[["account_id", "as_of_date"]].assign(_i=np.arange(len(feats)))
    rows = health_model.training_rows(keyed, renewals, window)
    rows["renewal_date"] = pd.to_datetime(rows["renewal_date"]).astype("datetime64[ns]")

    # the score of each renewal: its account's latest feature row on or before renewal - ahead (within a week)
    ren = renewals.assign(scored_on=renewals["renewal_date"] - pd.Timedelta(days=ahead)).sort_values("scored_on")
    days = keyed.assign(day=keyed["as_of_date"]).sort_values("day")
    ren = pd.merge_asof(ren, days[["account_id", "day", "_i"]], left_on="scored_on", right_on="day", by="account_id",
                        tolerance=pd.Timedelta(days=6), direction="backward").dropna(subset=["_i"])
    ren = ren.sort_values(["scored_on", "account_id"]).reset_index(drop=True)
    start = ren["scored_on"].iloc[int(len(ren) * (1 - test_share))]
    test = ren[ren["scored_on"] >= start].reset_index(drop=True)
    origins = [test["scored_on"].iloc[int(len(test) * k / folds)] for k in range(folds)]
    test["fold"] = np.searchsorted(np.array(origins, dtype="datetime64[ns]"), test["scored_on"].to_numpy(), side="right") - 1
    test["predicted"], test["band"] = np.nan, None
    fits = []
    for k, origin in enumerate(origins):
        known = (rows["renewal_date"] + pd.Timedelta(days=grace)) < origin
        r = rows[known].reset_index(drop=True)
        with threadpool_limits(limits=1):
            fit = cm.fit_outcome_model(x_all[r["_i"].to_numpy(int)], r["churned"].to_numpy(int), r, cfg, "churn",
                                       int(health["min_renewals_for_fit"]), float(health.get("validation_share", 0.3)),
                                       cfg.get("bands", {"red": 3.0, "yellow": 1.5}))
        fits.append({"fold": k, "origin": str(origin.date()), "fit_renewals": fit.n_renewals,
                     "fit_churned": fit.n_positive, "kind": fit.model.kind if fit.model else None,
                     "reason": fit.reason, "selection": fit.model.selection if fit.model else None,
                     "why": fit.model.selection_why if fit.model else None})
        here = test["fold"] == k
        if fit.model is not None and here.any():
            p = fit.model.probability(x_all[test.loc[here, "_i"].to_numpy(int)])
            test.loc[here, "predicted"] = p
            test.loc[here, "band"] = cm.band_of(p, fit.model.thresholds)
    t = pd.read_csv(truth)
    t = t[t["event"] == "renewal"].assign(renewal_date=lambda d: pd.to_datetime(d["date"]).astype("datetime64[ns]"))
    test = test.merge(t[["account_id", "renewal_date", "churn_probability", "term"]].rename(
        columns={"churn_probability": "truth_p"}), on=["account_id", "renewal_date"], how="left")
    return test, fits


def measure_heldout(frame: pd.DataFrame) -> dict:
    """The held-out figures: AUC with its bootstrap interval, PR-AUC, Brier, red-band lift,
    calibration error, the oracle's AUC on the same renewals."""
    from sklearn.metrics import average_precision_score, brier_score_loss

    f = frame.dropna(subset=["predicted"])
    y, p = f["churned"].to_numpy(int), f["predicted"].to_numpy(float)
    base = float(y.mean()) if len(y) else None
    red = (f["band"] == "red").to_numpy()
    known = f["truth_p"].notna().to_numpy()
    two = len(np.unique(y)) == 2
    out = {
        "renewals": int(len(y)), "churned": int(y.sum()), "unscored": int(len(frame) - len(f)),
        "churn_rate": base, "auc": auc(y, p), "auc_ci": bootstrap_auc(y, p),
        "pr_auc": float(average_precision_score(y, p)) if two else None,
        "brier": float(brier_score_loss(y, p)) if len(y) else None,
        "red_renewals": int(red.sum()),
        "red_lift": float(y[red].mean() / base) if red.any() and base else None,
        "calibration_error": calibration_error(y, p),
        "oracle_auc": auc(y[known], f["truth_p"].to_numpy(float)[known]),
        "oracle_auc_ci": bootstrap_auc(y[known], f["truth_p"].to_numpy(float)[known]),
    }
    out["meets"] = meets_targets(out)
    return out


def truth_summary(truth: Path) -> dict:
    t = pd.read_csv(truth)
    ren, mid = t[t["event"] == "renewal"], t[t["event"] == "mid_term"]
    return {"truth_renewals": int(len(ren)), "truth_churns": int(ren["churned"].sum()),
            "expansions_at_renewal": int(ren["expanded"].fillna(False).astype(bool).sum()),
            "seat_packs_mid_term": int(mid["expanded"].fillna(False).astype(bool).sum())}


# --- the runs ------------------------------------------------------------------------------------

def one_world(world: str, args, wd: Path) -> dict:
    landing, data, truth = wd / "landing", wd / "data", wd / "truth" / "truth.csv"
    res: dict = {"world": world}
    if "generate" in args.steps:
        for p in (landing, wd / "truth"):
            shutil.rmtree(p, ignore_errors=True)
        log(f"{world}: generate --preset {args.preset} --seed {args.seed}")
        res["generate_s"] = run([PY, "-m", "orchestration.cli", "generate", "--preset", args.preset, "--seed",
                                 str(args.seed), "--end-date", args.end_date, "--world", world, "--out", str(landing),
                                 "--truth", str(truth)], None, wd / "generate.log")
    if "pipeline" in args.steps:
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True)
        log(f"{world}: python -m orchestration.cli run")
        res["pipeline_s"] = run([PY, "-m", "orchestration.cli", "run"], pipeline_env(landing, data), wd / "pipeline.log")
    frame, source = scored_renewals(data / "warehouse.duckdb", truth, args.ahead)
    res.update(measure(frame), prediction=source, **truth_summary(truth))
    # annual terms alone: a monthly renewal's churn is rare and the score does not know the term,
    # so the pooled figures mix "which term" with "which account"
    res["annual"] = {"world": f"{world}, annual terms", **measure(frame[frame["term"] == "annual"])}
    frame.to_csv(wd / "scored_renewals.csv", index=False)
    if "heldout" in args.steps:
        log(f"{world}: held-out refits ({args.folds} origins over the latest {args.test_share:.0%} of renewals)")
        t0 = time.perf_counter()
        held, fits = heldout_scores(data / "warehouse.duckdb", truth, args.ahead, args.test_share, args.folds,
                                    tuple(a for a in args.ablate.split(",") if a))
        res["heldout"] = {"world": world, **measure_heldout(held), "fits": fits,
                          "seconds": time.perf_counter() - t0}
        held.to_csv(wd / "heldout_renewals.csv", index=False)
    return res


def fmt(v, spec: str = ".3f") -> str:
    return "-" if v is None else format(v, spec)


def table(results: list[dict]) -> str:
    head = ("| world | AUC | oracle AUC | red lift | calibration error | oracle cal. error | renewals | churn rate "
            "| generate s | pipeline s | meets (AUC, lift, cal.) |")
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for r in [x for res in results for x in (res, res.get("annual")) if x]:
        m = r["meets"]
        lines.append(
            f"| {r['world']} | {fmt(r['auc'])} | {fmt(r['oracle_auc'])} | {fmt(r['red_lift'], '.2f')}x "
            f"({r['red_renewals']} red) | {fmt(r['calibration_error'])} | {fmt(r['oracle_calibration_error'])} "
            f"| {r['renewals']} | {fmt(r['churn_rate'])} ({r['churned']}) | {fmt(r.get('generate_s'), '.0f')} "
            f"| {fmt(r.get('pipeline_s'), '.0f')} | {'/'.join('yes' if m[k] else 'no' for k in ('auc', 'red_lift', 'calibration'))} |")
    return "\n".join(lines)


def heldout_table(results: list[dict]) -> str:
    head = ("| world | AUC held out [95% CI] | oracle AUC, same renewals [95% CI] | red lift | cal. error | PR-AUC "
            "| Brier | held-out renewals (churned) | model per origin | meets (AUC, lift, cal.) |")
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for r in [res["heldout"] for res in results if res.get("heldout")]:
        m, ci, oci = r["meets"], r["auc_ci"] or (None, None), r["oracle_auc_ci"] or (None, None)
        kinds = ", ".join(f["kind"] or "none" for f in r["fits"])
        lines.append(
            f"| {r['world']} | {fmt(r['auc'])} [{fmt(ci[0], '.2f')}-{fmt(ci[1], '.2f')}] | {fmt(r['oracle_auc'])} "
            f"[{fmt(oci[0], '.2f')}-{fmt(oci[1], '.2f')}] | {fmt(r['red_lift'], '.2f')}x ({r['red_renewals']} red) "
            f"| {fmt(r['calibration_error'])} | {fmt(r['pr_auc'])} | {fmt(r['brier'], '.4f')} "
            f"| {r['renewals']} ({r['churned']}) | {kinds} "
            f"| {'/'.join('yes' if m[k] else 'no' for k in ('auc', 'red_lift', 'calibration'))} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--worlds", default="usage_support,engagement,silent", help="comma-separated; 'default' too")
    ap.add_argument("--preset", default="worlds")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--end-date", default="2026-10-31")
    ap.add_argument("--ahead", type=int, default=45, help="days before the renewal the score is read")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/chw_worlds"))
    ap.add_argument("--steps", default="generate,pipeline,measure,heldout")
    ap.add_argument("--test-share", type=float, default=0.4, help="held out: latest share of renewals (by score date)")
    ap.add_argument("--folds", type=int, default=3, help="held out: origins the model is refitted at")
    ap.add_argument("--ablate", default="", help="held out: comma-separated features blanked (what are they worth?)")
    args = ap.parse_args(argv)
    args.steps = set(args.steps.split(","))
    results = []
    for world in args.worlds.split(","):
        wd = args.workdir / world
        wd.mkdir(parents=True, exist_ok=True)
        r = one_world(world, args, wd)
        previous = wd / "result.json"
        if "pipeline" not in args.steps and previous.exists():  # keep the timings of the run measured
            old = json.loads(previous.read_text())
            r = {**{k: old[k] for k in ("generate_s", "pipeline_s") if k in old}, **r}
        previous.write_text(json.dumps(r, indent=1, default=str))
        log(f"{world}: " + json.dumps({k: v for k, v in r.items() if k not in ("meets", "annual", "heldout")},
                                      default=str))
        results.append(r)
    print(f"\nrenewals scored {args.ahead} days ahead (preset {args.preset}, seed {args.seed}); prediction: "
          f"{results[0]['prediction']}\n")
    print(table(results))
    if any(r.get("heldout") for r in results):
        print(f"\nheld out in time: renewals whose score date is in the latest {args.test_share:.0%}, refitted at "
              f"{args.folds} origins{'; features blanked: ' + args.ablate if args.ablate else ''}\n")
        print(heldout_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
