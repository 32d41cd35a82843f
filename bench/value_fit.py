"""The customer-value fit side by side with the `lifetimes` package, on the same data in one
run: time and parameters for BG/NBD and Gamma-Gamma on the CDNOW sample (2,357 customers,
39-week calibration from 1997-01-01), then Comeback's fit on the full CDNOW file.

Run with `uv run python bench/value_fit.py` (`make bench` runs it too). `lifetimes` is not a
dependency of Comeback: this script runs it in a throwaway environment that uv builds from
PyPI (`uv run --no-project --with lifetimes==0.11.3`), fed the very summaries ours fitted.
Without network access that half is reported as unavailable. It prints figures, not verdicts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from comeback.domain.value import bgnbd, gamma_gamma
from comeback.domain.value.summary import CustomerSummary, summarise
from comeback.local.datasets import read_cdnow
from report import table

DATA = Path(__file__).resolve().parents[1] / "examples" / "data"
CALIBRATION_END = date(1997, 9, 30)
LIFETIMES = "lifetimes==0.11.3"
PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426, "p": 6.25, "q": 3.74, "v": 15.44}

# Run inside the throwaway environment: fit lifetimes on the summaries given as JSON.
LIFETIMES_SCRIPT = """
import json, sys, time
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
rows = json.load(open(sys.argv[1]))
frame = pd.DataFrame(rows, columns=["frequency", "recency", "T", "monetary"])
began = time.perf_counter()
bg = BetaGeoFitter(penalizer_coef=0.0).fit(frame["frequency"], frame["recency"], frame["T"])
bg_seconds = time.perf_counter() - began
repeat = frame[frame["frequency"] > 0]
began = time.perf_counter()
gg = GammaGammaFitter(penalizer_coef=0.0).fit(repeat["frequency"], repeat["monetary"])
gg_seconds = time.perf_counter() - began
expected = bg.conditional_expected_number_of_purchases_up_to_time(39, 2, 30.43, 38.86)
print(json.dumps({"bg": dict(bg.params_), "gg": dict(gg.params_), "bg_seconds": bg_seconds,
                  "gg_seconds": gg_seconds, "expected": float(expected)}))
"""


def fit_ours(summaries: list[CustomerSummary]) -> dict[str, float]:
    began = time.perf_counter()
    bg = bgnbd.fit(summaries)
    bg_seconds = time.perf_counter() - began
    began = time.perf_counter()
    gg = gamma_gamma.fit(summaries)
    gg_seconds = time.perf_counter() - began
    expected = bgnbd.conditional_expected_purchases(bg, 39, 2, 30.43, 38.86)
    return {
        "r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b,
        "p": gg.p, "q": gg.q, "v": gg.gamma,
        "bg_seconds": bg_seconds, "gg_seconds": gg_seconds, "expected": expected,
    }  # fmt: skip


def fit_lifetimes(summaries: list[CustomerSummary]) -> dict[str, float] | str:
    """lifetimes' figures, or why there are none."""
    uv = Path(sys.executable).parents[2] / ".tools" / "bin" / "uv"
    rows = [[s.frequency, s.recency, s.age, s.monetary] for s in summaries]
    with tempfile.TemporaryDirectory() as folder:
        data, script = Path(folder) / "summaries.json", Path(folder) / "fit.py"
        data.write_text(json.dumps(rows))
        script.write_text(LIFETIMES_SCRIPT)
        command = [str(uv) if uv.exists() else "uv", "run", "--no-project", "--quiet"]
        command += ["--with", LIFETIMES, "python", str(script), str(data)]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=900, env=os.environ.copy()
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"unavailable ({error})"
    if done.returncode != 0:
        return f"unavailable: {done.stderr.strip().splitlines()[-1:]}"
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    bg, gg = answer["bg"], answer["gg"]
    return {
        "r": bg["r"], "alpha": bg["alpha"], "a": bg["a"], "b": bg["b"],
        "p": gg["p"], "q": gg["q"], "v": gg["v"],
        "bg_seconds": answer["bg_seconds"], "gg_seconds": answer["gg_seconds"],
        "expected": answer["expected"],
    }  # fmt: skip


def summaries_of(file_name: str) -> list[CustomerSummary]:
    orders = read_cdnow(DATA / file_name)
    return list(
        summarise([(o.customer_id, o.day, o.value) for o in orders], CALIBRATION_END).values()
    )


def main() -> None:
    sample = summaries_of("CDNOW_sample.txt")
    ours = fit_ours(sample)
    theirs = fit_lifetimes(sample)
    names = ["r", "alpha", "a", "b", "p", "q", "v", "expected", "bg_seconds", "gg_seconds"]
    published = {**PUBLISHED, "expected": 1.226}
    rows = []
    for name in names:
        other = theirs[name] if isinstance(theirs, dict) else "-"
        rows.append([
            name,
            f"{published[name]:g}" if name in published else "-",
            f"{ours[name]:.4f}",
            f"{other:.4f}" if isinstance(other, float) else other,
        ])  # fmt: skip
    print(
        table(
            f"Value models on the CDNOW sample ({len(sample):,} customers, 39-week calibration): "
            "Comeback vs lifetimes 0.11.3 (expected = E[X(39) | x=2, t_x=30.43, T=38.86]; "
            "Gamma-Gamma's gamma is lifetimes' v)",
            ["figure", "published", "Comeback", "lifetimes"],
            rows,
        )
    )
    if not isinstance(theirs, dict):
        print(f"lifetimes: {theirs}")

    full = summaries_of("CDNOW_master.txt")
    fitted = fit_ours(full)
    print(
        table(
            f"Comeback's fit on the full CDNOW file ({len(full):,} customers, same calibration)",
            ["r", "alpha", "a", "b", "p", "q", "v", "BG/NBD s", "Gamma-Gamma s"],
            [
                [
                    *(f"{fitted[k]:.4f}" for k in ("r", "alpha", "a", "b", "p", "q", "v")),
                    f"{fitted['bg_seconds']:.2f}",
                    f"{fitted['gg_seconds']:.2f}",
                ]
            ],
        )
    )


if __name__ == "__main__":
    main()
