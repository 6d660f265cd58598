"""The load run: many clients submitting at once against a local stack of its own.

    python -m tools.load                       # what `make load` runs: 1000 jobs, 50 clients
    python -m tools.load --jobs 40 --clients 5 --hourly-limit 6
    python -m tools.load --paced               # starts at Replicate's pace (about 17 min)
    python -m tools.load --paced --minutes 0.67   # the same, 40 s of load (tests/tools)

Starts the whole local stack on free loopback ports, gives every simulated
client its own API key with a per-client hourly limit, submits every job at
once (each client sequentially, the clients concurrently), then follows each
client's jobs a page at a time (GET /jobs) until every accepted job has ended
or the deadline passes. Prints one table; exits 1 when a job was lost, a 5xx
was answered or a client was admitted more or fewer jobs than its limit.

``--paced``: the simulator limits creates as Replicate does (``--create-limit``
a minute, 429 with Retry-After over it) and the service starts predictions at
its pace (95% of that limit, as 570 of Replicate's 600 deployed); jobs are
submitted at ``--load-multiple`` times the limit, evenly, for ``--minutes``.
Exits 1 unless every job completes, nothing fails, Replicate answers 429 to
under 5% of creates and the start rate is within 10% of the limit.
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
    estimated: Dict[str, int] = field(default_factory=dict)  # jobId -> the 202's estimatedTime
    took: Dict[str, int] = field(default_factory=dict)       # jobId -> processingTime (completed)
    errors: Dict[str, str] = field(default_factory=dict)     # jobId -> error (failed, cancelled)

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
    from chalicelib.dynamo_stores import DynamoApiKeyStore
    keys = ApiKeys(DynamoApiKeyStore(dynamodb_table(resource_names(stack.stage).api_keys_table)))
    run = uuid.uuid4().hex[:6]
    clients = []
    for i in range(count):
        name = f"load-{run}-{i:03d}"
        key, _ = keys.create(client_id=name, limits={"submissions_per_hour": hourly_limit})
        clients.append(Client(name, key, f"user-{i:03d}"))
    return clients


def submit_one(session: requests.Session, api_url: str, client: Client, i: int) -> None:
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
        return
    client.latencies.append(time.perf_counter() - began)
    client.statuses.append(status)
    if status == 202:
        accepted = resp.json()
        client.accepted.append(accepted["jobId"])
        client.estimated[accepted["jobId"]] = accepted["estimatedTime"]


def submit_all(api_url: str, client: Client, jobs: int, start: threading.Event) -> None:
    session = requests.Session()
    start.wait()
    for i in range(jobs):
        submit_one(session, api_url, client, i)


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
                if job.get("processingTime") is not None:
                    client.took[job["jobId"]] = job["processingTime"]
                if job.get("error"):
                    client.errors[job["jobId"]] = job["error"]
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


# ---- the paced run: starts at Replicate's pace ---------------------------------------------

# The service's pace as a share of Replicate's limit: 570 of 600 deployed.
PACE_SHARE = 0.95
# The bounds the paced run must meet.
MAX_THROTTLED_SHARE = 0.05
MAX_RATE_ERROR = 0.10


@dataclass
class PacedOutcome(Outcome):
    create_limit: int = 0          # the simulator's creates a minute
    pace: int = 0                  # the service's starts a minute
    offered_per_minute: float = 0  # the submissions' planned rate
    sent_at: List[float] = field(default_factory=list)     # monotonic, each submit sent
    creates_at: List[float] = field(default_factory=list)  # Unix times Replicate let through
    throttled: int = 0             # creates Replicate answered 429

    @property
    def submitted(self) -> int:
        return sum(len(c.statuses) for c in self.clients)

    @property
    def offered_rate(self) -> Optional[float]:
        """Submissions a minute as sent, first to last."""
        sent = sorted(self.sent_at)
        return (len(sent) - 1) / (sent[-1] - sent[0]) * 60 if len(sent) > 1 else None

    @property
    def throttled_share(self) -> float:
        tried = len(self.creates_at) + self.throttled
        return self.throttled / tried if tried else 0.0

    @property
    def start_rate(self) -> Optional[float]:
        """Creates a minute, first to last: the backlog lasts the whole span."""
        times = sorted(self.creates_at)
        return (len(times) - 1) / (times[-1] - times[0]) * 60 if len(times) > 1 else None

    @property
    def rate_error(self) -> Optional[float]:
        rate = self.start_rate
        return None if rate is None else (rate - self.create_limit) / self.create_limit

    @property
    def busiest_minute(self) -> int:
        times = sorted(self.creates_at)
        return max((sum(1 for u in times if t <= u < t + 60) for t in times), default=0)

    def estimate_errors(self) -> List[float]:
        """Actual seconds from submit to completed, less the 202's estimatedTime."""
        return [c.took[j] - c.estimated[j] for c in self.clients for j in c.took
                if j in c.estimated]

    @property
    def ok(self) -> bool:
        return (self.lost == 0 and self.server_errors == 0 and self.other_errors == 0
                and self.accepted == self.submitted and self.ended_as("completed") == self.accepted
                and self.throttled_share < MAX_THROTTLED_SHARE and self.rate_error is not None
                and abs(self.rate_error) <= MAX_RATE_ERROR)


def submit_paced(api_url: str, clients: List[Client], per_minute: float, minutes: float,
                 workers: int = 16) -> List[float]:
    """Submit ``per_minute * minutes`` jobs evenly (job i at i / rate), round-robin over
    the clients, from a pool of senders so a slow answer never delays the next send;
    returns when each was sent (monotonic)."""
    total, interval = int(round(per_minute * minutes)), 60.0 / per_minute
    indexes, sent_at = iter(range(total)), []
    lock = threading.Lock()
    t0 = time.monotonic() + 0.5

    def sender():
        session = requests.Session()
        while True:
            with lock:
                i = next(indexes, None)
            if i is None:
                return
            time.sleep(max(0.0, t0 + i * interval - time.monotonic()))
            sent_at.append(time.monotonic())
            submit_one(session, api_url, clients[i % len(clients)], i)

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sent_at


def run_paced(stack: LocalStack, clients: int, create_limit: int, pace: int,
              load_multiple: float, minutes: float, deadline_s: float) -> PacedOutcome:
    sim = requests.Session()
    sim.post(f"{stack.simulator_url}/_sim/faults", json={
        "latency_s": 0.3, "create_limit_per_minute": create_limit}, timeout=5).raise_for_status()
    simulated = create_keys(stack, clients, hourly_limit=10_000)
    per_minute = create_limit * load_multiple
    started = time.monotonic()
    print(f"submitting {per_minute:g} jobs a minute for {minutes:g} min; Replicate allows "
          f"{create_limit}, the service starts {pace} a minute", file=sys.stderr, flush=True)
    sent_at = submit_paced(stack.api_url, simulated, per_minute, minutes)
    print(f"submitted in {time.monotonic() - started:.1f} s; following the jobs",
          file=sys.stderr, flush=True)
    follow(stack.api_url, simulated, started + deadline_s)
    creates = sim.get(f"{stack.simulator_url}/_sim/creates", timeout=10).json()
    return PacedOutcome(simulated, 0, started, deadline_s, create_limit=create_limit, pace=pace,
                        offered_per_minute=per_minute, sent_at=sent_at,
                        creates_at=creates["acceptedAt"], throttled=creates["throttled"])


def paced_table(outcome: PacedOutcome, clients: int, minutes: float) -> str:
    latencies = [x for c in outcome.clients for x in c.latencies]
    ended, rate, errors = outcome.all_ended_after_s, outcome.start_rate, outcome.estimate_errors()
    offered = outcome.offered_rate
    rows = [
        ("jobs submitted", f"{outcome.submitted} ({outcome.offered_per_minute:g} a minute for "
                           f"{minutes:g} min, {clients} clients; sent at "
                           f"{offered:.1f} a minute)" if offered else str(outcome.submitted)),
        ("accepted (202)", str(outcome.accepted)),
        ("5xx / other errors", f"{outcome.server_errors} / {outcome.other_errors}"),
        ("lost (accepted, not ended)", str(outcome.lost)),
        ("ended completed / failed / cancelled",
         " / ".join(str(outcome.ended_as(s)) for s in ("completed", "failed", "cancelled"))),
        ("Replicate's create limit", f"{outcome.create_limit} a minute (the simulator); the "
                                     f"service's pace {outcome.pace} a minute"),
        ("creates let through / throttled (429)",
         f"{len(outcome.creates_at)} / {outcome.throttled} "
         f"({outcome.throttled_share:.1%}; goal < {MAX_THROTTLED_SHARE:.0%})"),
        ("start rate, first to last create",
         f"{rate:.1f} a minute ({outcome.rate_error:+.1%} of the limit; goal within "
         f"{MAX_RATE_ERROR:.0%})" if rate is not None else "-"),
        ("busiest minute", f"{outcome.busiest_minute} creates"),
        ("completed minus estimatedTime p50 / p95",
         f"{percentile(errors, 50):+.0f} / {percentile(errors, 95):+.0f} s" if errors else "-"),
        ("submit latency p50 / p95", f"{percentile(latencies, 50) * 1000:.0f} / "
                                     f"{percentile(latencies, 95) * 1000:.0f} ms"
         if latencies else "-"),
        ("time until all ended", f"{ended:.1f} s" if ended is not None
         else f"not within {outcome.deadline_s:.0f} s"),
        ("result", "PASS" if outcome.ok else "FAIL"),
    ]
    failures = sorted({e for c in outcome.clients for e in c.errors.values()})
    if failures:
        rows.insert(-1, ("errors of failed jobs", "; ".join(failures)[:300]))
    width = max(len(name) for name, _ in rows)
    lines = [f"{'paced load run':<{width}}  value", f"{'-' * width}  {'-' * 40}"]
    lines += [f"{name:<{width}}  {value}" for name, value in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Submit many jobs at once to a local stack.")
    parser.add_argument("--jobs", type=int, default=1000, help="jobs in all (default 1000)")
    parser.add_argument("--clients", type=int, default=None,
                        help="concurrent clients, one API key each (default 50; --paced: 10)")
    parser.add_argument("--hourly-limit", type=int, default=15,
                        help="submissions per hour allowed to each client (default 15)")
    parser.add_argument("--deadline", type=float, default=1200,
                        help="seconds after the first submit by which every job must end")
    parser.add_argument("--logs", type=Path, default=None,
                        help="directory for the stack's logs (default: a temporary one)")
    paced = parser.add_argument_group("--paced: starts at Replicate's pace")
    paced.add_argument("--paced", action="store_true",
                       help="limit the simulator's creates and submit above the limit")
    paced.add_argument("--create-limit", type=int, default=60,
                       help="the simulator's creates a minute (default 60)")
    paced.add_argument("--load-multiple", type=float, default=3,
                       help="submissions a minute, as a multiple of the limit (default 3)")
    paced.add_argument("--minutes", type=float, default=5,
                       help="how long the submissions go on (default 5)")
    args = parser.parse_args(argv)
    args.clients = args.clients or (10 if args.paced else 50)
    if args.clients < 1 or args.jobs < args.clients:
        parser.error("--jobs must be at least --clients, and --clients at least 1")
    pace = max(1, int(args.create_limit * PACE_SHARE))
    with tempfile.TemporaryDirectory(prefix="vsl-load-") as tmp:
        logs = args.logs or Path(tmp)
        env = {"VSL_LOCAL_KEYS_FILE": str(Path(tmp) / "api-keys"),
               "VSL_SIM_CACHE_DIR": str(Path(tmp) / "sim-cache")}
        if args.paced:
            env["VSL_REPLICATE_CREATES_PER_MINUTE"] = str(pace)
        stack = LocalStack(api_port=free_port(), emulator_port=free_port(),
                           simulator_port=free_port(), log_dir=logs, extra_env=env,
                           # Replicate only: the run measures Replicate's pace, which
                           # failover to fal would hide.
                           fal_simulator_port=None)
        print(f"starting a local stack (logs in {logs})", file=sys.stderr, flush=True)
        stack.start()
        try:
            if args.paced:
                jobs = args.create_limit * args.load_multiple * args.minutes
                # Every start, at the pace, and the last one's processing.
                deadline = args.minutes * 60 + jobs / pace * 60 + 180
                outcome = run_paced(stack, args.clients, args.create_limit, pace,
                                    args.load_multiple, args.minutes, deadline)
            else:
                outcome = run(stack, args.jobs, args.clients, args.hourly_limit, args.deadline)
        finally:
            stack.stop()
        print(paced_table(outcome, len(outcome.clients), args.minutes) if args.paced
              else table(outcome, args.jobs, args.clients, args.hourly_limit), flush=True)
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
