"""Large and long outputs for benchmarks, served with bounded memory.

The ``large_output`` fault, e.g. ``{"kind": "video", "seconds": 600, "width":
1920, "height": 1080}`` or ``{"kind": "video", "bytes": 2000000000}``, makes each
prediction of a video model produce:
- a real H.264 MP4 of ``seconds`` (default 2) at ``width`` x ``height`` (default
  1920x1080) and ``fps`` (default 24), encoded once per spec and cached on disk
  (``VSL_SIM_CACHE_DIR``, default a directory under the system temp dir);
- padded, when ``bytes`` is larger than that file, to exactly ``bytes`` with a
  trailing ISO BMFF ``free`` box: a box every MP4 reader skips, so the file stays
  valid media. The padding is zeros generated while sending, never stored.
Every output (ordinary ones too) is a file on disk sent in 1 MiB chunks, so
neither a 2 GB download, nor several at once, nor thousands of stored outputs
hold more than a chunk each in memory.
"""
import hashlib
import json
import os
import struct
import tempfile
import threading
from dataclasses import dataclass
from typing import Iterator, Optional

from local.replicate_sim import media

CHUNK = 1 << 20
CACHE_FORMAT = 1  # bump when the generated files change
KINDS = ("video",)
_ZEROS = bytes(CHUNK)
_cache_lock = threading.Lock()


def normalize(spec) -> Optional[dict]:
    """The spec with defaults, or ValueError saying what is wrong."""
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise ValueError("large_output must be an object or null")
    unknown = set(spec) - {"kind", "seconds", "width", "height", "fps", "bytes"}
    if unknown:
        raise ValueError(f"large_output: unknown keys {sorted(unknown)}")
    if spec.get("kind") not in KINDS:
        raise ValueError(f"large_output.kind must be one of {list(KINDS)}")
    out = {"kind": spec["kind"], "seconds": spec.get("seconds", 2), "width": spec.get("width", 1920),
           "height": spec.get("height", 1080), "fps": spec.get("fps", 24),
           "bytes": spec.get("bytes", 0)}
    limits = {"seconds": (1, 4 * 3600), "width": (16, 4096), "height": (16, 4096),
              "fps": (1, 60), "bytes": (0, 1 << 40)}
    for key, (low, high) in limits.items():
        value = out[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"large_output.{key} must be an integer from {low} to {high}")
    if out["width"] % 2 or out["height"] % 2:
        raise ValueError("large_output.width and height must be even (4:2:0 video)")
    return out


def cache_dir() -> str:
    path = os.environ.get("VSL_SIM_CACHE_DIR") or os.path.join(tempfile.gettempdir(),
                                                                  "vsl-replicate-sim")
    os.makedirs(path, exist_ok=True)
    return path


def video_file(spec: dict) -> str:
    """The cached MP4 for a spec, made on first use."""
    media_keys = {k: spec[k] for k in ("seconds", "width", "height", "fps")}
    digest = hashlib.sha256(json.dumps([CACHE_FORMAT, media_keys], sort_keys=True).encode())
    path = os.path.join(cache_dir(), f"video-{digest.hexdigest()[:24]}.mp4")
    with _cache_lock:  # one writer per process; os.replace keeps readers safe
        if not os.path.exists(path):
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".mp4")
            os.close(fd)
            try:
                media.looping_video_file(tmp, media_keys["seconds"], media_keys["width"],
                                         media_keys["height"], media_keys["fps"])
                os.replace(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.remove(tmp)
    return path


def free_box_header(size: int) -> bytes:
    """The header of a ``free`` box of ``size`` bytes in all (64-bit size when needed)."""
    if size < 1 << 32:
        return struct.pack(">I4s", size, b"free")
    return struct.pack(">I4sQ", 1, b"free", size)


@dataclass
class OutputFile:
    """One served output: a file on disk, followed by ``padding`` bytes of a
    free box (large outputs only)."""
    prediction_id: str
    content_type: str
    path: str
    padding: int = 0
    owned: bool = True  # deleted when the output expires (cached videos are shared)

    @property
    def size(self) -> int:
        return os.path.getsize(self.path) + self.padding

    def chunks(self) -> Iterator[bytes]:
        with open(self.path, "rb") as f:
            while True:
                chunk = f.read(CHUNK)
                if not chunk:
                    break
                yield chunk
        if self.padding:
            header = free_box_header(self.padding)
            yield header
            left = self.padding - len(header)
            while left > 0:
                yield _ZEROS[:min(CHUNK, left)]
                left -= CHUNK

    def remove(self) -> None:
        if self.owned and os.path.exists(self.path):
            os.remove(self.path)


def large_video(prediction_id: str, spec: dict) -> OutputFile:
    path = video_file(spec)
    padding = max(0, spec["bytes"] - os.path.getsize(path))
    if 0 < padding < 8:
        padding = 8  # the smallest box; a few bytes over the asked size
    return OutputFile(prediction_id, "video/mp4", path, padding, owned=False)
