"""What a client's users spent, from a bounded query of its jobs (one index, the
date range as the key condition, only the needed attributes): the numbers agree
with the jobs listed, and no table is scanned.

Billing: a completed job costs its model's price (times the outputs asked for);
failed, cancelled and reused jobs cost 0. ``predictTime`` adds up Replicate's
``metrics.predict_time``, our own cost driver. ``byProvider`` splits the same
totals by the provider each job ran on (``none``: jobs that never started one, such
as reused results): the price is the model's whichever provider ran it.
"""
from datetime import date, datetime, time, timedelta, timezone
from typing import Dict, Optional

from chalicelib.clock import Clock
from chalicelib.authorization import require_user
from chalicelib.errors import ValidationFailed
from chalicelib.jobs.model import JobStatus
from chalicelib.route_models import UsageQuery, UsageResponse
from chalicelib.keys import Caller
from chalicelib.jobs.persistence import JobRepository, UsageRow
from chalicelib.validation import parse_query

MAX_DAYS = 366
NO_PROVIDER = "none"
_COUNTED = ("jobs", "completed", "failed", "cancelled", "cached", "cost", "predictTime")


def _empty() -> Dict:
    return {k: 0 for k in _COUNTED}


def _add(totals: Dict, row: UsageRow) -> None:
    totals["jobs"] += 1
    if row.status.is_terminal:
        totals[row.status.value] += 1
    totals["cached"] += row.cached
    if row.status == JobStatus.COMPLETED and not row.cached:
        totals["cost"] += row.estimated_cost
    totals["predictTime"] += row.predict_time or 0


def _rounded(totals: Dict) -> Dict:
    return dict(totals, cost=round(totals["cost"], 6), predictTime=round(totals["predictTime"], 3))


class UsageReport:
    def __init__(self, jobs: JobRepository, clock: Clock):
        self.jobs = jobs
        self.clock = clock

    def report(self, caller: Caller, params: Dict[str, str]) -> Dict:
        query = parse_query(UsageQuery, params)
        today = self.clock.now().date()
        start, end = query.from_ or today.replace(day=1), query.to or today
        if end < start or (end - start).days >= MAX_DAYS:
            raise ValidationFailed(f"from/to: from must not be after to, and at most {MAX_DAYS} "
                                   "days apart", code="OUT_OF_RANGE")
        if end >= date.max:  # the range ends the day after "to", which must exist
            raise ValidationFailed(f"to: at most {date.max - timedelta(days=1)}",
                                   code="OUT_OF_RANGE")
        user_id: Optional[str] = query.userId or caller.user_id
        require_user(caller, user_id, "read the usage")
        totals, by_model, by_day, by_provider = _empty(), {}, {}, {}
        rows = self.jobs.usage_rows(
            caller.client_id, user_id, datetime.combine(start, time(0), timezone.utc),
            datetime.combine(end + timedelta(days=1), time(0), timezone.utc))
        for row in rows:
            _add(totals, row)
            _add(by_model.setdefault(row.model_id, _empty()), row)
            _add(by_day.setdefault(row.created_at.date().isoformat(), _empty()), row)
            _add(by_provider.setdefault(row.provider or NO_PROVIDER, _empty()), row)
        return UsageResponse.model_validate({
            "from": start.isoformat(), "to": end.isoformat(), "userId": user_id,
            "totals": _rounded(totals),
            "byModel": {m: _rounded(t) for m, t in sorted(by_model.items())},
            "byDay": [dict(date=d, **_rounded(t)) for d, t in sorted(by_day.items())],
            "byProvider": {p: _rounded(t) for p, t in sorted(by_provider.items())},
        }).model_dump(mode="json", by_alias=True)
