"""The load run: many clients submitting at once against a local stack of its own.

    python -m tools.load                       # what `make load` runs: 1000 jobs, 50 clients
    python -m tools.load --jobs 40 --clients 5 --hourly-limit 6

Starts the whole local stack on free loopback ports, gives every simulated
client its own API key with a per-client hourly limit, submits every job at
once (each client sequentially, the clients concurrently), then follows each
client's jobs a page at a time (GET /jobs) until every accepted job has ended
or the deadline passes. Prints one table; exits 1 when a job was lost, a 5xx
was answered or a client was admitted more or fewer jobs than its limit.
"""
import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import requests

from local.stack import LocalStack, free_port

TERMINAL = {"completed", "failed", "cancelled"}
# Each client's jobs are read at most this often: 60 a minute at most, well
# inside the per-key poll limit (600 a minute).
LIST_INTERVAL_S = 1.0


@dataclass
class Client:
    name: str
    key: str
    user_id: str
    latencies: List[float] = field(default_factory=list)
    statuses: List[object] = field(default_factory=list)  # HTTP status, or the exception's name
    accepted: List[str] = field(default_factory=list)
    ended: Dict[str, str] = field(default_factory=dict)   # jobId -> terminal status
    ended_at: Optional[float] = None

    def headers(self) -> dict:
        return {"X-API-Key": self.key}


@dataclass
class Outcome:
    clients: List[Client]
    expected_per_client: int
    started: float
    deadline_s: float

    def count(self, predicate) -> int:
        return sum(1 for c in self.clients for s in c.statuses if predicate(s))

    @property
    def accepted(self) -> int:
        return self.count(lambda s: s == 202)

    @property
    def limited(self) -> int:
        return self.count(lambda s: s == 429)

    @property
    def server_errors(self) -> int:
        return self.count(lambda s: isinstance(s, int) and s >= 500)

    @property
    def other_errors(self) -> int:
        return self.count(lambda s: not isinstance(s, int) or (s not in (202, 429) and s < 500))

    @property
    def lost(self) -> int:
        return sum(len(set(c.accepted) - set(c.ended)) for c in self.clients)

    @property
    def limits_exact(self) -> bool:
        return all(len(c.accepted) == self.expected_per_client for c in self.clients)

    @property
    def all_ended_after_s(self) -> Optional[float]:
        if self.lost:
            return None
        ends = [c.ended_at for c in self.clients if c.ended_at is not None]
        return max(ends) - self.started if ends else 0.0

    def ended_as(self, status: str) -> int:
        return sum(1 for c in self.clients for s in c.ended.values() if s == status)

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.server_errors == 0 and self.limits_exact


def percentile(values: List[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def create_keys(stack: LocalStack, count: int, hourly_limit: int) -> List[Client]:
    """One key per client, each with its own hourly limit (a per-client override)."""
    for k, v in stack.env().items():
        if k.startswith("AWS_"):
            os.environ[k] = v
    from chalicelib.aws import dynamodb_table
    from chalicelib.keys import ApiKeys
    from chalicelib.resources import resource_names
    from chalicelib.store import ApiKeyStore
    keys = ApiKeys(ApiKeyStore(dynamodb_table(resource_names(stack.stage).api_keys_table)))
    run = uuid.uuid4().hex[:6]
    clients = []
    for i in range(count):
        name = f"load-{run}-{i:03d}"
        key, _ = keys.create(client_id=name, limits={"submissions_per_hour": hourly_limit})
        clients.append(Client(name, key, f"user-{i:03d}"))
    return clients


def submit_all(api_url: str, client: Client, jobs: int, start: threading.Event) -> None:
    session = requests.Session()
    start.wait()
    for i in range(jobs):
        body = {"userId": client.user_id, "mediaType": "image", "modelId": "flux-schnell",
                "parameters": {"prompt": f"load {client.name} job {i}",
                               "width": 512, "height": 512}}
        began = time.perf_counter()
        try:
            resp = session.post(f"{api_url}/generate-media", json=body, headers=client.headers(),
                                timeout=60)
            status = resp.status_code
        except requests.RequestException as e:
            client.latencies.append(time.perf_counter() - began)
            client.statuses.append(type(e).__name__)
            continue
        client.latencies.append(time.perf_counter() - began)
        client.statuses.append(status)
        if status == 202:
            client.accepted.append(resp.json()["jobId"])


def read_jobs(session: requests.Session, api_url: str, client: Client) -> None:
    """One pass over the client's jobs, a page at a time; notes the ones that ended."""
    waiting = set(client.accepted) - set(client.ended)
    cursor = None
    while waiting:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        try:
            resp = session.get(f"{api_url}/jobs", params=params, headers=client.headers(),
                               timeout=30)
        except requests.RequestException:
            return
        if resp.status_code == 429:
            time.sleep(float(resp.headers.get("Retry-After", 1)))
            continue
        if resp.status_code != 200:
            return
        page = resp.json()
        for job in page["jobs"]:
            if job["jobId"] in waiting and job["status"] in TERMINAL:
                client.ended[job["jobId"]] = job["status"]
                waiting.discard(job["jobId"])
        cursor = page.get("nextCursor")
        if not cursor:
            break
    if not waiting:
        client.ended_at = time.monotonic()


def follow(api_url: str, clients: List[Client], deadline: float) -> None:
    """Read each client's jobs in turn, one request at a time, until every accepted
    job has ended. One at a time: a listing is one index query, which the local
    emulator answers by reading the whole table, so concurrent listings would slow
    the very processing being measured."""
    session = requests.Session()
    accepted = sum(len(c.accepted) for c in clients)
    next_report = time.monotonic()
    while time.monotonic() < deadline:
        waiting = [c for c in clients if set(c.accepted) - set(c.ended)]
        if not waiting:
            return
        began = time.monotonic()
        if began >= next_report:
            ended = sum(len(c.ended) for c in clients)
            print(f"{ended}/{accepted} jobs ended", file=sys.stderr, flush=True)
            next_report = began + 10
        for client in waiting:
            read_jobs(session, api_url, client)
        time.sleep(max(0.0, LIST_INTERVAL_S - (time.monotonic() - began)))


def run(stack: LocalStack, jobs: int, clients: int, hourly_limit: int,
        deadline_s: float) -> Outcome:
    requests.post(f"{stack.simulator_url}/_sim/faults", json={"latency_s": 0.3},
                  timeout=5).raise_for_status()
    simulated = create_keys(stack, clients, hourly_limit)
    per_client = jobs // clients
    start = threading.Event()
    threads = [threading.Thread(target=submit_all, args=(stack.api_url, c, per_client, start),
                                daemon=True) for c in simulated]
    for t in threads:
        t.start()
    started = time.monotonic()
    start.set()
    for t in threads:
        t.join()
    print(f"submitted in {time.monotonic() - started:.1f} s; following the jobs",
          file=sys.stderr, flush=True)
    follow(stack.api_url, simulated, started + deadline_s)
    return Outcome(simulated, min(per_client, hourly_limit), started, deadline_s)


def table(outcome: Outcome, jobs: int, clients: int, hourly_limit: int) -> str:
    latencies = [x for c in outcome.clients for x in c.latencies]
    ended = outcome.all_ended_after_s
    rows = [
        ("jobs submitted", f"{jobs // clients * clients} ({clients} clients x {jobs // clients}, "
                           f"limit {hourly_limit}/h each)"),
        ("accepted (202)", f"{outcome.accepted} (expected {outcome.expected_per_client * clients})"),
        ("limited (429)", str(outcome.limited)),
        ("5xx", str(outcome.server_errors)),
        ("other errors", str(outcome.other_errors)),
        ("lost (accepted, not ended)", str(outcome.lost)),
        ("ended completed / failed / cancelled",
         " / ".join(str(outcome.ended_as(s)) for s in ("completed", "failed", "cancelled"))),
        ("limits exact", "yes" if outcome.limits_exact else "no"),
        ("submit latency p50", f"{percentile(latencies, 50) * 1000:.0f} ms"),
        ("submit latency p95", f"{percentile(latencies, 95) * 1000:.0f} ms"),
        ("time until all ended", f"{ended:.1f} s" if ended is not None
         else f"not within {outcome.deadline_s:.0f} s"),
        ("result", "PASS" if outcome.ok else "FAIL"),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"{'load run':<{width}}  value", f"{'-' * width}  {'-' * 40}"]
    lines += [f"{name:<{width}}  {value}" for name, value in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Submit many jobs at once to a local stack.")
    parser.add_argument("--jobs", type=int, default=1000, help="jobs in all (default 1000)")
    parser.add_argument("--clients", type=int, default=50,
                        help="concurrent clients, one API key each (default 50)")
    parser.add_argument("--hourly-limit", type=int, default=15,
                        help="submissions per hour allowed to each client (default 15)")
    parser.add_argument("--deadline", type=float, default=1200,
                        help="seconds after the first submit by which every job must end")
    parser.add_argument("--logs", type=Path, default=None,
                        help="directory for the stack's logs (default: a temporary one)")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.jobs < args.clients:
        parser.error("--jobs must be at least --clients, and --clients at least 1")
    with tempfile.TemporaryDirectory(prefix="vsl-load-") as tmp:
        logs = args.logs or Path(tmp)
        stack = LocalStack(api_port=free_port(), emulator_port=free_port(),
                           simulator_port=free_port(), fal_simulator_port=free_port(),
                           log_dir=logs, extra_env={
                               "VSL_LOCAL_KEYS_FILE": str(Path(tmp) / "api-keys"),
                               "VSL_SIM_CACHE_DIR": str(Path(tmp) / "sim-cache")})
        print(f"starting a local stack (logs in {logs})", file=sys.stderr, flush=True)
        stack.start()
        try:
            outcome = run(stack, args.jobs, args.clients, args.hourly_limit, args.deadline)
        finally:
            stack.stop()
        print(table(outcome, args.jobs, args.clients, args.hourly_limit), flush=True)
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
