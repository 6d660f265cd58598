"""Progress bars as Replicate's models print them to their logs (tqdm's default
format), e.g. `` 40%|████      | 2/5 [00:01<00:01,  2.93it/s]``."""
from typing import Optional

_BLOCKS = " ▏▎▍▌▋▊▉█"
WIDTH = 10


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes:02d}:{secs:02d}"


def bar_line(n: int, total: int, elapsed_s: float) -> str:
    """One tqdm line for step ``n`` of ``total`` after ``elapsed_s`` seconds."""
    fraction = n / total if total else 0.0
    eighths = int(fraction * WIDTH * 8)
    full, part = divmod(eighths, 8)
    bar = "█" * full + (_BLOCKS[part] if full < WIDTH else "")
    rate: Optional[float] = n / elapsed_s if n and elapsed_s > 0 else None
    remaining = _clock((total - n) / rate) if rate else "?"
    rate_text = f"{rate:5.2f}it/s" if rate else "?it/s"
    return (f"{fraction * 100:3.0f}%|{bar.ljust(WIDTH)}| {n}/{total} "
            f"[{_clock(elapsed_s)}<{remaining}, {rate_text}]")
