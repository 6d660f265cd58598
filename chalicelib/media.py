"""Probe stored media and draw thumbnails.

Pillow, PyAV and numpy are imported inside the functions that need them, so the
API's import path (a Lambda cold start) never loads them. Audio is read with
PyAV too: its wheels bundle FFmpeg's decoders, so the layer (cp313
manylinux_2_28 wheels for Lambda's python3.13 on Amazon Linux 2023) needs no
audio library of its own; soundfile serves only the local simulator.
"""
import itertools
from dataclasses import dataclass
from typing import Optional

THUMBNAIL_SIZE = (512, 512)
WAVEFORM_SIZE = (512, 128)

CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp",
                 "gif": "image/gif", "mp4": "video/mp4", "webm": "video/webm",
                 "wav": "audio/wav", "mp3": "audio/mpeg", "flac": "audio/flac",
                 "ogg": "audio/ogg"}
# FFmpeg's demuxer names of the audio containers we store.
AUDIO_EXTS = {"wav": "wav", "mp3": "mp3", "flac": "flac", "ogg": "ogg"}


class MediaUnreadable(Exception):
    """The file is not media of the expected kind."""


@dataclass
class MediaInfo:
    ext: str
    content_type: str
    file_size: int
    width: Optional[int] = None
    height: Optional[int] = None
    duration: Optional[float] = None
    fps: Optional[float] = None

    def as_result(self) -> dict:
        out = {"fileSize": self.file_size, "contentType": self.content_type}
        for name in ("duration", "width", "height", "fps"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


def probe(path: str, media_type: str) -> MediaInfo:
    import os
    size = os.path.getsize(path)
    try:
        if media_type == "image":
            return _probe_image(path, size)
        if media_type == "video":
            return _probe_video(path, size)
        if media_type == "audio":
            return _probe_audio(path, size)
    except MediaUnreadable:
        raise
    except Exception as e:  # decoders raise many types for a corrupt file
        raise MediaUnreadable(f"cannot read {media_type}: {type(e).__name__}: {e}") from e
    raise ValueError(f"unknown media type {media_type}")


def _probe_image(path: str, size: int) -> MediaInfo:
    from PIL import Image
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        ext = {"JPEG": "jpg"}.get(im.format, (im.format or "").lower())
        if ext not in CONTENT_TYPES:
            raise MediaUnreadable(f"unsupported image format {im.format}")
        return MediaInfo(ext, CONTENT_TYPES[ext], size, width=im.width, height=im.height)


def _probe_video(path: str, size: int) -> MediaInfo:
    import av
    with av.open(path) as container:
        if not container.streams.video:
            raise MediaUnreadable("no video stream")
        stream = container.streams.video[0]
        fps = float(stream.average_rate) if stream.average_rate else None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        else:
            duration = None
        fmt = container.format.name
        ext = "mp4" if "mp4" in fmt else ("webm" if "webm" in fmt else fmt.split(",")[0])
        return MediaInfo(ext, CONTENT_TYPES.get(ext, "application/octet-stream"), size,
                         width=stream.codec_context.width, height=stream.codec_context.height,
                         duration=round(duration, 3) if duration is not None else None,
                         fps=round(fps, 3) if fps else None)


def _probe_audio(path: str, size: int) -> MediaInfo:
    import av
    with av.open(path) as container:
        ext = AUDIO_EXTS.get(container.format.name)
        if ext is None:
            raise MediaUnreadable(f"unsupported audio format {container.format.name}")
        # Decoding it all proves the file readable and counts its samples: an
        # exact duration whatever the container's header claims.
        samples, rate = _count_samples(container)
        return MediaInfo(ext, CONTENT_TYPES[ext], size, duration=round(samples / rate, 3))


def _audio_stream(container):
    if not container.streams.audio:
        raise MediaUnreadable("no audio stream")
    return container.streams.audio[0]


def _count_samples(container) -> tuple:
    stream = _audio_stream(container)
    samples = sum(frame.samples for frame in container.decode(stream))
    if not samples or not stream.rate:
        raise MediaUnreadable("audio has no samples")
    return samples, stream.rate


def make_thumbnail(src: str, media_type: str, dst: str) -> None:
    """Write a JPEG thumbnail of ``src`` to ``dst``."""
    try:
        image = {"image": _image_frame, "video": _first_video_frame,
                 "audio": _waveform}[media_type](src)
        image = image.convert("RGB")
        image.thumbnail(THUMBNAIL_SIZE)
        image.save(dst, "JPEG", quality=85)
    except Exception as e:
        raise MediaUnreadable(f"cannot thumbnail {media_type}: {type(e).__name__}: {e}") from e


def _image_frame(path: str):
    from PIL import Image
    with Image.open(path) as im:
        im.draft("RGB", THUMBNAIL_SIZE)  # JPEG decodes at reduced scale
        return im.copy()


def _first_video_frame(path: str):
    import av
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):  # stops after the first decoded frame
            return frame.to_image()
    raise MediaUnreadable("video has no frames")


def _waveform(path: str):
    """Min/max envelope per pixel column, decoded chunk by chunk (bounded memory)."""
    import av
    import numpy as np
    from PIL import Image, ImageDraw
    width, height = WAVEFORM_SIZE
    with av.open(path) as container:
        total, _ = _count_samples(container)
    lows, highs = np.zeros(width, "float32"), np.zeros(width, "float32")
    position = 0
    with av.open(path) as container:
        stream = _audio_stream(container)
        mono = av.AudioResampler(format="flt", layout="mono")
        frames = itertools.chain(container.decode(stream), [None])  # None: flush
        for frame in frames:
            for chunk in mono.resample(frame):
                values = chunk.to_ndarray().reshape(-1)
                columns = np.minimum((np.arange(position, position + values.size) * width)
                                     // total, width - 1)
                position += values.size
                # columns ascend: reduce each run of one column at once
                starts = np.flatnonzero(np.r_[True, np.diff(columns) > 0])
                cols = columns[starts]
                lows[cols] = np.minimum(lows[cols], np.minimum.reduceat(values, starts))
                highs[cols] = np.maximum(highs[cols], np.maximum.reduceat(values, starts))
    image = Image.new("RGB", (width, height), (18, 18, 24))
    draw = ImageDraw.Draw(image)
    mid = height / 2
    for x, (lo, hi) in enumerate(zip(lows.clip(-1, 1), highs.clip(-1, 1))):
        draw.line([(x, mid - hi * mid), (x, mid - lo * mid)], fill=(90, 200, 250))
    return image
