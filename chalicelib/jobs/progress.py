"""How far a job is: a ``stage`` and a ``progress`` from 0 to 1, from the
prediction's logs and our own steps. Pure functions.

Replicate's image and video models print tqdm progress bars to their logs, e.g.

     40%|████      | 2/5 [00:01<00:01,  2.93it/s]

and the last bar printed says how far the model is. A job's progress spans its
whole life: the model's bar fills the first GENERATED_SHARE, storing the result
is STORING, completion is 1. The store keeps only the highest value it was
given, so a reader never sees it go back (a second bar that starts again at 0%
leaves it where the first one got to).
"""
import re
from typing import TYPE_CHECKING, Literal, Optional

if TYPE_CHECKING:  # the model reads the logs with this module: no import cycle at run time
    from chalicelib.jobs.model import Job

# The share of a job's progress that is the model's own work; the rest is ours.
GENERATED_SHARE = 0.9
# The prediction succeeded and its outputs are being copied into our bucket.
STORING = 0.95
COMPLETE = 1.0

Stage = Literal["queued", "starting", "generating", "storing"]

# tqdm's default bar: "{percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [...]", with an
# optional description before it. The counts may be scaled ("1.50k") with unit_scale.
_BAR = re.compile(r"(\d{1,3})%\|[^|\r\n]*\|\s*([\d.]+[kMGT]?)/([\d.]+[kMGT]?)")
_SCALE = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
# Only the end of long logs is read: the last bar is what counts.
LOG_TAIL_CHARS = 8192


def _count(text: str) -> Optional[float]:
    unit = text[-1] if text[-1] in _SCALE else ""
    try:
        return float(text[:len(text) - len(unit)]) * _SCALE[unit]
    except ValueError:
        return None


def model_fraction(logs: Optional[str]) -> Optional[float]:
    """How far the model's last progress bar is, 0 to 1; None when the logs show none."""
    if not logs or not isinstance(logs, str):
        return None
    matches = list(_BAR.finditer(logs[-LOG_TAIL_CHARS:]))
    if not matches:
        return None
    percent, done, total = matches[-1].groups()
    done_n, total_n = _count(done), _count(total)
    if done_n is not None and total_n:
        fraction = done_n / total_n
    else:
        fraction = int(percent) / 100
    return min(1.0, max(0.0, fraction))


def generating(fraction: float) -> float:
    """The job's progress while the model is at ``fraction`` of its work."""
    return round(GENERATED_SHARE * min(1.0, max(0.0, fraction)), 4)


def progress_of(job: "Job") -> Optional[float]:
    """What a reader sees: 1 once completed, else the highest value recorded (None
    while nothing is known, e.g. before the model printed a bar)."""
    if job.status == "completed":
        return COMPLETE
    return job.progress


def stage_of(job: "Job") -> Optional[Stage]:
    """queued (no prediction yet), starting (Replicate is booting the model),
    generating (the model runs), storing (its outputs are being copied); None once
    the job has ended."""
    if job.status.is_terminal:
        return None
    if job.status == "pending":
        return "starting" if job.replicate_id else "queued"
    if job.result is not None or (job.progress or 0) >= STORING:
        return "storing"
    return "generating"
