"""`make load` and `make bench` run end to end, in their short modes, and print
their tables: the commands the figures in docs/load-and-benchmarks.md and
docs/capacity.md come from keep working."""
import subprocess
import sys

import pytest

from local.stack import ROOT

pytestmark = pytest.mark.integration


def run_module(*args: str, timeout_s: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout_s)


def table_rows(output: str, columns: int) -> dict:
    """First column -> the rest, for the table's lines (two or more spaces apart)."""
    rows = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.split("  ") if c.strip()]
        if len(cells) >= columns and not set(cells[0]) <= {"-"}:
            rows[cells[0]] = cells[1:]
    return rows


def test_a_short_load_run_admits_exactly_each_clients_limit_and_loses_no_job():
    done = run_module("tools.load", "--jobs", "40", "--clients", "5", "--hourly-limit", "6",
                      "--deadline", "240", timeout_s=400)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    rows = table_rows(done.stdout, 2)
    assert rows["accepted (202)"] == ["30 (expected 30)"]
    assert rows["limited (429)"] == ["10"]
    assert rows["5xx"] == ["0"] and rows["other errors"] == ["0"]
    assert rows["lost (accepted, not ended)"] == ["0"]
    assert rows["ended completed / failed / cancelled"] == ["30 / 0 / 0"]
    assert rows["limits exact"] == ["yes"]
    assert rows["result"] == ["PASS"]


def test_a_short_paced_run_starts_every_job_at_replicates_limit_without_429s():
    """`make load ARGS=--paced` for 40 s instead of 5 minutes: 120 jobs offered at three
    times the simulator's limit of 60 creates a minute, all started at the pace."""
    done = run_module("tools.load", "--paced", "--minutes", "0.6667", timeout_s=600)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    rows = table_rows(done.stdout, 2)
    assert rows["accepted (202)"] == ["120"]
    assert rows["5xx / other errors"] == ["0 / 0"]
    assert rows["lost (accepted, not ended)"] == ["0"]
    assert rows["ended completed / failed / cancelled"] == ["120 / 0 / 0"]
    let_through, throttled = rows["creates let through / throttled (429)"][0].split(" (")[0] \
        .split(" / ")
    assert int(throttled) < 0.05 * (int(let_through) + int(throttled))
    rate = float(rows["start rate, first to last create"][0].split()[0])
    assert 54 <= rate <= 66
    assert rows["result"] == ["PASS"]


def test_the_bench_in_tiny_sizes_prints_every_figure_next_to_its_goal():
    done = run_module("tools.bench", "--quick", timeout_s=600)
    # 1 says a goal is missed (the figures are printed all the same); anything else broke.
    assert done.returncode in (0, 1), done.stdout + done.stderr[-3000:]
    rows = table_rows(done.stdout.split("\n\n")[0], 4)  # the table, not the notes below
    figures = [name for name in rows if name != "figure"]
    expected = ["cold start", "AWS calls per POST /generate-media", "AWS calls per GET /status",
                "webhook-to-completed", "processor peak memory"] + [
                f"AWS cost per job / Replicate's price, {model}"
                for model in ("flux-schnell", "sdxl", "stability-video", "musicgen")] + [
                "thumbnail", "API function package"]
    assert len(figures) == len(expected), figures
    assert all(f.startswith(e) for f, e in zip(figures, expected)), figures
    for name in figures:
        assert rows[name][-1] in ("pass", "FAIL"), rows[name]
    assert done.returncode == (1 if any(rows[n][-1] == "FAIL" for n in figures) else 0)
    submit_calls = int(rows["AWS calls per POST /generate-media"][0].split()[0])
    assert submit_calls >= 1
    # Below the table, the calls in order with their times: one per call counted.
    listed = next(line for line in done.stdout.splitlines()
                  if line.strip().startswith("POST /generate-media:"))
    steps = listed.split("AWS calls:", 1)[1].split(";")
    assert len([s for s in steps if s.strip().startswith(("dynamodb.", "s3.", "sqs."))]) \
        == submit_calls
    # Below, each model's cost: its lines in dollars, and the runs of every function.
    for model in ("flux-schnell", "sdxl", "stability-video", "musicgen"):
        priced = next(line for line in done.stdout.splitlines()
                      if line.startswith(f"{model}: Replicate's price"))
        assert "% of it (goal <= 2%" in priced, priced
    # Beside Replicate's price, the second provider's, where fal publishes one.
    assert any(line.strip().startswith("on fal.ai (fal-ai/flux/schnell): fal's price $")
               for line in done.stdout.splitlines())
    for function in ("api submit", "api webhook", "api status", "processor succeeded",
                     "thumbnailer", "notifications", "sweep"):
        assert f"    {function}" in done.stdout, function
