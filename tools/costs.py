"""What one job costs us on AWS: the billing rules that turn what `make bench`
measured (each function's invocations, their durations and AWS calls, the
DynamoDB items before and after each write, the stored files) into billed
units, and the price list (tools/aws_prices.json) into dollars. Pure: the
measuring is in tools/bench.py.

The rules, from AWS's pricing and DynamoDB's item-size documentation:
- Lambda: a request per invocation, and GB-seconds of the configured memory for
  the duration rounded up to the millisecond; ephemeral storage above 512 MB too.
- DynamoDB on demand: a write unit per KB (rounded up) of the larger of the item
  before and after, and on every index whose entry the write puts, changes or
  deletes, a unit per KB of that entry (what the index projects of the item; a
  changed index key is a delete and a put); a failed
  condition still costs the item's units on the table. A read unit per 4 KB,
  half for an eventually consistent read (every index query); a Query costs the
  size of what it read together. Storage: item plus 100 bytes on the table, and
  each index entry plus 100 bytes.
- SQS: each message is sent, received and deleted (Lambda's event source polls
  for it): three requests per message on a queue a function consumes.
- S3: PUT class (PUT, COPY, multipart parts) and GET class requests; storage per
  GB-month for as long as the lifecycle rules keep each object (a rule expires by the
  object's kind tag: an untagged object is kept); each tag an object carries, a month.
"""
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

PRICES_FILE = Path(__file__).with_name("aws_prices.json")
GB = 1 << 30
KB = 1024
ITEM_OVERHEAD_BYTES = 100  # DynamoDB's storage overhead per item, table and each index
DAYS_PER_MONTH = 30.4375
FREE_EPHEMERAL_MB = 512
# Each message on a queue a function consumes: sent, received, deleted.
SQS_REQUESTS_PER_MESSAGE = 3
S3_PUT_CLASS = {"PutObject", "CopyObject", "CreateMultipartUpload", "UploadPart",
                "UploadPartCopy", "CompleteMultipartUpload", "ListObjectsV2", "ListObjects"}


@dataclass(frozen=True)
class Prices:
    date: str
    region: str
    usd: Dict[str, float]

    def __getitem__(self, name: str) -> float:
        return self.usd[name]


def load_prices(path: Path = PRICES_FILE) -> Prices:
    data = json.loads(path.read_text())
    return Prices(data["date"], data["region"],
                  {name: entry["usd"] for name, entry in data["prices"].items()})


# ---- DynamoDB: item sizes and units ---------------------------------------------------------

def _number_size(text: str) -> int:
    """About one byte per two significant digits, plus one."""
    digits = Decimal(text).normalize().as_tuple().digits
    significant = len(digits) if any(digits) else 1
    return math.ceil(significant / 2) + 1


def value_size(value: dict) -> int:
    """The size of one attribute value in DynamoDB's JSON ({"S": ...}, {"M": {...}}, ...)."""
    (kind, v), = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        return _number_size(v)
    if kind == "B":
        return len(v)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in v)
    if kind == "NS":
        return sum(_number_size(n) for n in v)
    if kind == "BS":
        return sum(len(b) for b in v)
    if kind == "L":
        return 3 + sum(value_size(e) + 1 for e in v)
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(e) + 1 for k, e in v.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: Optional[dict]) -> int:
    """Attribute names plus values, in bytes; 0 for no item."""
    return sum(len(name.encode()) + value_size(v) for name, v in (item or {}).items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / KB))


def read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / (4 * KB)))
    return units if consistent else units / 2


@dataclass(frozen=True)
class IndexShape:
    """An index's keys and what it projects: ALL, KEYS_ONLY, or INCLUDE ``attributes``."""
    hash_key: str
    range_key: Optional[str] = None
    projection: str = "ALL"
    attributes: Tuple[str, ...] = ()


@dataclass(frozen=True)
class TableShape:
    """A table's keys and its indexes, as chalicelib/resources.json (Terraform's
    source) declares them."""
    hash_key: str
    range_key: Optional[str] = None
    indexes: Dict[str, IndexShape] = field(default_factory=dict)

    @classmethod
    def from_spec(cls, table: dict) -> "TableShape":
        return cls(table["hash_key"], table.get("range_key"),
                   {name: IndexShape(ix["hash_key"], ix.get("range_key"),
                                     ix.get("projection", "ALL"),
                                     tuple(ix.get("attributes", ())))
                    for name, ix in table.get("indexes", {}).items()})

    def key_of(self, item: dict) -> dict:
        return {k: item[k] for k in (self.hash_key, self.range_key) if k}

    def entry(self, item: Optional[dict], index: IndexShape) -> Optional[dict]:
        """The item's entry in the index (what the index stores of it), or None when it
        is not in it (a sparse index)."""
        keys = (index.hash_key, index.range_key)
        if not item or any(k and k not in item for k in keys):
            return None
        if index.projection == "ALL":
            return item
        kept = {self.hash_key, self.range_key, *keys}
        if index.projection == "INCLUDE":
            kept |= set(index.attributes)
        return {k: v for k, v in item.items() if k in kept}


def _index_key(entry: Optional[dict], index: IndexShape):
    return None if entry is None else tuple(
        json.dumps(entry[k], sort_keys=True) for k in (index.hash_key, index.range_key) if k)


@dataclass
class Units:
    reads: float = 0.0        # read request units
    writes: float = 0.0       # write request units on tables
    index_writes: float = 0.0  # write request units on indexes
    # The index writes by index: one index key's writes share one partition's limit.
    by_index: Counter = field(default_factory=Counter, compare=False)

    def __add__(self, other: "Units") -> "Units":
        return Units(self.reads + other.reads, self.writes + other.writes,
                     self.index_writes + other.index_writes, self.by_index + other.by_index)

    def __mul__(self, n: float) -> "Units":
        return Units(self.reads * n, self.writes * n, self.index_writes * n,
                     Counter({k: v * n for k, v in self.by_index.items()}))


def write_call_units(shape: TableShape, before: Optional[dict], after: Optional[dict],
                     succeeded: bool) -> Units:
    """A PutItem, UpdateItem or DeleteItem that found ``before`` and left ``after``."""
    table = write_units(max(item_size(before), item_size(after)))
    if not succeeded:
        return Units(writes=table)
    by_index = Counter()
    for name, index in shape.indexes.items():
        # An index is written when the item's entry in it appears, goes, or changes
        # (a projected attribute or its key; a changed key is a delete and a put).
        old, new = shape.entry(before, index), shape.entry(after, index)
        if old == new:
            continue
        if old is not None and new is not None and _index_key(old, index) != _index_key(new, index):
            by_index[name] += write_units(item_size(old)) + write_units(item_size(new))
        elif new is not None:
            by_index[name] += write_units(item_size(new))
        else:
            by_index[name] += write_units(item_size(old))
    return Units(writes=table, index_writes=sum(by_index.values()), by_index=by_index)


def read_call_units(items: Iterable[Optional[dict]], consistent: bool) -> Units:
    """A GetItem (one item, None if absent) or a Query (every item it read)."""
    return Units(reads=read_units(sum(item_size(i) for i in items), consistent))


def batch_read_units(items: Iterable[dict], consistent: bool) -> Units:
    """A BatchGetItem: each item is its own read, rounded up alone (a projection does not
    lower it, and the items a job reads are far below the 4 KB unit)."""
    return Units(reads=sum(read_units(item_size(i), consistent) for i in items))


def stored_bytes(shape: TableShape, item: dict) -> int:
    """An item's storage: on the table and on each index it is in."""
    entries = [item] + [shape.entry(item, index) for index in shape.indexes.values()]
    return sum(item_size(e) + ITEM_OVERHEAD_BYTES for e in entries if e is not None)


# ---- one job --------------------------------------------------------------------------------

@dataclass(frozen=True)
class FunctionConfig:
    memory_mb: int
    ephemeral_mb: int = FREE_EPHEMERAL_MB


@dataclass
class Invocation:
    """One run of a function, as measured: its duration, its own AWS calls
    (``service.Operation`` -> count) and the DynamoDB units they cost."""
    function: str
    kind: str
    seconds: float
    calls: Counter = field(default_factory=Counter)
    units: Units = field(default_factory=Units)
    # How many of these a job makes (client polls: several; a share of the sweep: a fraction).
    per_job: float = 1.0


@dataclass(frozen=True)
class StoredObject:
    kind: str        # original, output, thumbnail: from its key (chalicelib.storage.kind_of)
    bytes: int
    tags: int        # the tags it carries: its kind's, when a lifecycle rule expires that kind


@dataclass
class JobMeasure:
    model_id: str
    price_usd: float                  # Replicate's, for this output
    invocations: List[Invocation]
    objects: List[StoredObject]       # what the job leaves in the bucket
    download_bytes: int               # one download of the result (the original)
    item_bytes: int                   # the job's storage in DynamoDB (table and indexes)
    # The sweeps' reads of this job while it is open (they read every open job at once:
    # a share by size), read request units.
    sweep_reads: float = 0.0


@dataclass(frozen=True)
class Retention:
    """Months each kind of object is kept (None in Terraform: kept; counted as
    ``kept_months``), and the job item (no TTL: kept too)."""
    days_by_kind: Dict[str, Optional[int]]
    kept_months: float

    @property
    def expiring_kinds(self) -> Tuple[str, ...]:
        """The kinds a rule expires: those the functions tag (as Terraform derives
        VSL_EXPIRING_KINDS from the same days)."""
        return tuple(sorted(k for k, days in self.days_by_kind.items() if days is not None))

    def months(self, kind: str) -> float:
        days = self.days_by_kind.get(kind)
        return self.kept_months if days is None else days / DAYS_PER_MONTH

    def months_kept(self, obj: StoredObject) -> float:
        """How long the object stays: its kind's rule selects it by its tag, so an
        untagged one is kept whatever its kind."""
        return self.months(obj.kind) if obj.tags else self.kept_months

    def describe(self, kind: str) -> str:
        days = self.days_by_kind.get(kind)
        return f"{self.kept_months:g} months (kept: no expiry)" if days is None \
            else f"{days} days"


@dataclass(frozen=True)
class Line:
    what: str
    quantity: str
    usd: float


@dataclass
class Priced:
    measure: JobMeasure
    lines: List[Line]
    egress: Line
    requests: Dict[str, float]  # AWS requests per job, by service
    index_writes: Dict[str, float]  # write units per job, by index

    @property
    def total(self) -> float:
        return sum(line.usd for line in self.lines)

    @property
    def ratio(self) -> float:
        return self.total / self.measure.price_usd


def _fmt(n: float) -> str:
    return f"{n:.4g}"


def price_job(m: JobMeasure, functions: Dict[str, FunctionConfig], retention: Retention,
              prices: Prices) -> Priced:
    calls, units = Counter(), Units()
    gb_s = ephemeral_gb_s = requests = api_requests = 0.0
    for inv in m.invocations:
        config = functions[inv.function]
        billed_s = math.ceil(inv.seconds * 1000) / 1000
        gb_s += inv.per_job * billed_s * config.memory_mb / 1024
        ephemeral_gb_s += inv.per_job * billed_s * max(
            0, config.ephemeral_mb - FREE_EPHEMERAL_MB) / 1024
        requests += inv.per_job
        api_requests += inv.per_job if inv.function == "api" else 0
        for op, n in inv.calls.items():
            calls[op] += n * inv.per_job
        units += inv.units * inv.per_job
    units += Units(reads=m.sweep_reads)
    s3_put = sum(n for op, n in calls.items()
                 if op.startswith("s3.") and op[3:] in S3_PUT_CLASS)
    s3_get = sum(n for op, n in calls.items()
                 if op.startswith("s3.") and op[3:] not in S3_PUT_CLASS) + 1  # + the download
    sqs_sent = calls["sqs.SendMessage"]
    sqs_other = sum(n for op, n in calls.items() if op.startswith("sqs.")) - sqs_sent
    sqs = sqs_sent * SQS_REQUESTS_PER_MESSAGE + sqs_other
    storage_gb_months = sum(o.bytes / GB * retention.months_kept(o) for o in m.objects)
    tag_months = sum(o.tags * retention.months_kept(o) for o in m.objects)
    item_months = retention.kept_months
    item_gb_months = m.item_bytes / GB * item_months
    kinds = sorted({o.kind for o in m.objects})
    lines = [
        Line("API Gateway requests (submit, 2 webhooks, polls)", _fmt(api_requests),
             api_requests * prices["api_gateway_request"]),
        Line("Lambda requests", _fmt(requests), requests * prices["lambda_request"]),
        Line("Lambda duration (GB-s)", _fmt(gb_s), gb_s * prices["lambda_gb_second"]),
        Line("Lambda /tmp above 512 MB (GB-s)", _fmt(ephemeral_gb_s),
             ephemeral_gb_s * prices["lambda_ephemeral_gb_second"]),
        Line("DynamoDB writes (WRU: tables + indexes)",
             f"{_fmt(units.writes)} + {_fmt(units.index_writes)}",
             (units.writes + units.index_writes) * prices["dynamodb_write_unit"]),
        Line("DynamoDB reads (RRU)", _fmt(units.reads), units.reads * prices["dynamodb_read_unit"]),
        Line(f"DynamoDB storage and PITR, {item_months:g} months (no TTL)",
             f"{m.item_bytes} B", item_gb_months * (prices["dynamodb_storage_gb_month"]
                                                    + prices["dynamodb_pitr_gb_month"])),
        Line("SQS requests (send, receive, delete)", _fmt(sqs), sqs * prices["sqs_request"]),
        Line("S3 requests PUT class / GET class (incl. the download)",
             f"{_fmt(s3_put)} / {_fmt(s3_get)}",
             s3_put * prices["s3_put_request"] + s3_get * prices["s3_get_request"]),
        Line("S3 storage: " + ", ".join(f"{k} {retention.describe(k)}" for k in kinds),
             f"{sum(o.bytes for o in m.objects)} B", storage_gb_months * prices["s3_storage_gb_month"]),
        Line("S3 object tags (kind=, read by the lifecycle rules)", f"{_fmt(tag_months)} tag-months",
             tag_months * prices["s3_tag_month"]),
    ]
    egress = Line("egress: one download of the result", f"{m.download_bytes} B",
                  m.download_bytes / GB * prices["egress_gb"])
    by_service = Counter({"API Gateway": api_requests, "Lambda": requests})
    for op, n in calls.items():
        by_service[op.split(".")[0]] += n
    by_service["sqs"] += sqs - sqs_sent - sqs_other  # the event sources' receives and deletes
    by_service["s3"] += 1  # the download
    return Priced(m, lines, egress, dict(by_service), dict(units.by_index))


def render_priced(priced: Priced, goal: float) -> List[str]:
    m = priced.measure
    out = [f"{m.model_id}: Replicate's price ${m.price_usd:.4f}; AWS per job "
           f"${priced.total:.7f} = {priced.ratio:.2%} of it (goal <= {goal:.0%}: "
           f"{'pass' if priced.ratio <= goal else 'FAIL'}); egress apart ${priced.egress.usd:.7f}",
           "    AWS requests per job: " + ", ".join(
               f"{service} {_fmt(n)}" for service, n in sorted(priced.requests.items()))
           + f" ({_fmt(sum(priced.requests.values()))} in all)",
           "    DynamoDB index writes per job (WRU): " + ", ".join(
               f"{name} {_fmt(n)}" for name, n in sorted(priced.index_writes.items()))]
    width = max(len(line.what) for line in priced.lines + [priced.egress])
    qwidth = max(len(line.quantity) for line in priced.lines + [priced.egress])
    for line in priced.lines + [priced.egress]:
        out.append(f"    {line.what:<{width}}  {line.quantity:>{qwidth}}  ${line.usd:.8f}")
    return out


def render_invocations(invocations: List[Invocation], functions: Dict[str, FunctionConfig]
                       ) -> List[str]:
    """Per function: runs per job, measured ms, memory, AWS calls per run, units."""
    out = []
    for inv in invocations:
        calls = ", ".join(f"{op} x{n}" if n > 1 else op for op, n in sorted(inv.calls.items()))
        u = inv.units
        out.append(f"    {inv.function + ' ' + inv.kind:<30} x{_fmt(inv.per_job):<7} "
                   f"{inv.seconds * 1000:7.1f} ms  {functions[inv.function].memory_mb:>5} MB  "
                   f"RRU {_fmt(u.reads):<5} WRU {_fmt(u.writes)}+{_fmt(u.index_writes):<4} "
                   f"{calls or '-'}")
    return out


# ---- capacity: what the measured runs need at a given rate ----------------------------------

@dataclass(frozen=True)
class Load:
    jobs_per_day: int
    peak_factor: float  # the peak hour's rate over the day's average

    @property
    def average_per_s(self) -> float:
        return self.jobs_per_day / 86400

    @property
    def peak_per_s(self) -> float:
        return self.average_per_s * self.peak_factor


def capacity_lines(priced: List[Priced], load: Load, index_keys: Dict[str, str],
                   partition_wcu: int = 1000) -> List[str]:
    """An even mix of the measured models at the load's average and peak rates:
    each function's concurrency (Little's law: rate x runs per job x duration),
    and each index's write rate if every job wrote the same key of it (``index_keys``
    says whose jobs share a key): one key's writes share one partition's limit."""
    def mean(values):
        values = list(values)
        return sum(values) / len(values)
    avg, peak = load.average_per_s, load.peak_per_s
    out = [f"Capacity at {load.jobs_per_day:,} jobs a day, an even mix of the models above: "
           f"{avg:.1f} jobs/s on average, {peak:.1f} jobs/s in a {load.peak_factor:g}x peak "
           f"hour (concurrency = rate x runs per job x measured duration)"]
    functions = sorted({inv.function for p in priced for inv in p.measure.invocations})
    for function in functions:
        runs = mean(sum(i.per_job for i in p.measure.invocations if i.function == function)
                    for p in priced)
        busy = mean(sum(i.per_job * i.seconds for i in p.measure.invocations
                        if i.function == function) for p in priced)
        if function == "sweep":
            out.append(f"    {function:<14} 1 run a minute, {busy / runs * 1000:.0f} ms: "
                       f"concurrency 1")
            continue
        out.append(f"    {function:<14} {runs:5.2f} runs per job, {busy / runs * 1000:6.1f} ms "
                   f"each: concurrency {avg * busy:6.1f} on average, {peak * busy:6.1f} at peak")
    for index in sorted({name for p in priced for name in p.index_writes}):
        wru = mean(p.index_writes.get(index, 0) for p in priced)
        out.append(f"    index {index:<12} {wru:5.1f} WRU per job: {avg * wru:6.0f} WRU/s on "
                   f"average, {peak * wru:6.0f} at peak, if {index_keys.get(index, 'one key')}"
                   f" (one key's partition: {partition_wcu} WCU/s)")
    return out
