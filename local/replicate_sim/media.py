"""Real media for the simulator: content depends on the prompt and seed."""
import base64
import hashlib
import io
import math
import random
from typing import Optional, Tuple

import requests


def _rng(*parts) -> random.Random:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def fetch_input(url: str) -> bytes:
    """An input file, as a model's worker gets it: a URL, or a data URL."""
    if url.startswith("data:"):
        header, _, payload = url.partition(",")
        return base64.b64decode(payload) if header.endswith(";base64") else payload.encode()
    resp = requests.get(url, timeout=10)
    resp.raise_for_status()
    return resp.content


def flux_size(aspect_ratio: str, megapixels: str) -> Tuple[int, int]:
    """Pixel size for flux-schnell's aspect ratio and megapixels (multiples of 16)."""
    w, h = (int(x) for x in aspect_ratio.split(":"))
    area = (1.0 if megapixels == "1" else 0.25) * 1024 * 1024
    width = round(math.sqrt(area * w / h) / 16) * 16
    return width, round(width * h / w / 16) * 16


def image_bytes(prompt: str, seed: int, width: int, height: int, fmt: str) -> bytes:
    from PIL import Image, ImageDraw
    rng = _rng(prompt, seed)
    top = tuple(rng.randrange(256) for _ in range(3))
    bottom = tuple(rng.randrange(256) for _ in range(3))
    gradient = Image.linear_gradient("L").resize((width, height))
    image = Image.composite(Image.new("RGB", (width, height), bottom),
                            Image.new("RGB", (width, height), top), gradient)
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(min(width, height) // 20, min(width, height) // 4)
        draw.ellipse([x - r, y - r, x + r, y + r],
                     fill=tuple(rng.randrange(256) for _ in range(3)))
    draw.text((16, 16), prompt[:80], fill=(255, 255, 255))
    out = io.BytesIO()
    pil_format = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}[fmt]
    image.save(out, pil_format)
    return out.getvalue()


def video_bytes(source: Optional[bytes], frames: int, fps: int, motion: int, seed: int,
                size: Tuple[int, int] = (1024, 576)) -> bytes:
    """An H.264 MP4 that pans and zooms over the source image (more motion, more movement)."""
    import av
    import numpy as np
    from PIL import Image
    width, height = size
    if source:
        base = Image.open(io.BytesIO(source)).convert("RGB")
    else:
        base = Image.open(io.BytesIO(image_bytes("video", seed, width, height, "png")))
    base = base.resize((int(width * 1.5), int(height * 1.5)))
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        travel = (base.width - width) * motion / 255
        for i in range(frames):
            dx = int(travel * i / max(1, frames - 1))
            crop = base.crop((dx, 0, dx + width, height))
            frame = av.VideoFrame.from_ndarray(np.asarray(crop), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def audio_bytes(prompt: str, seed: int, duration: float, fmt: str, temperature: float = 1.0,
                sample_rate: int = 32000) -> bytes:
    """A stereo chord whose notes come from the prompt, with a rhythm and some noise."""
    import numpy as np
    import soundfile
    rng = _rng(prompt, seed)
    t = np.arange(int(duration * sample_rate)) / sample_rate
    notes = [220 * 2 ** (rng.randrange(0, 24) / 12) for _ in range(3)]
    signal = sum(np.sin(2 * np.pi * f * t) for f in notes) / len(notes)
    beat = 0.6 + 0.4 * (np.sin(2 * np.pi * rng.uniform(1, 3) * t) > 0)
    noise = np.random.default_rng(rng.randrange(2 ** 32)).normal(0, 0.02 * temperature, t.size)
    mono = (0.5 * signal * beat + noise).astype("float32")
    stereo = np.stack([mono, np.roll(mono, 64)], axis=1)
    out = io.BytesIO()
    if fmt == "mp3":
        soundfile.write(out, stereo, sample_rate, format="MP3")
    else:
        soundfile.write(out, stereo, sample_rate, format="WAV", subtype="PCM_16")
    return out.getvalue()


def looping_video_file(path: str, seconds: int, width: int, height: int, fps: int) -> None:
    """A real H.264 MP4 of ``seconds`` at ``width`` x ``height``, written to ``path``.

    One second (a closed GOP: an IDR frame then P-frames) is encoded once and its
    packets muxed again and again with shifted timestamps, so a 10-minute 1080p
    file costs one second of encoding; memory holds that one GOP only. The
    content is a gradient with a moving block: cheap to encode, yet every second
    decodes as real frames.
    """
    import av
    import numpy as np
    with av.open(path, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        # ultrafast has no B-frames, so pts == dts and each GOP is independent.
        stream.options = {"preset": "ultrafast",
                          "x264-params": f"keyint={fps}:min-keyint={fps}:scenecut=0"}
        gop = []

        def mux(packets):
            for packet in packets:
                gop.append((bytes(packet), packet.pts, packet.dts, packet.is_keyframe,
                            packet.time_base))
                container.mux(packet)

        shade = np.linspace(0, 255, height, dtype=np.uint8)[:, None, None]
        background = np.broadcast_to(shade, (height, width, 3))
        block = max(2, min(width, height) // 5)
        for i in range(fps):
            image = background.copy()
            x = (width - block) * i // fps
            image[(height - block) // 2:(height + block) // 2, x:x + block] = (255, 96, 0)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            mux(stream.encode(frame))
        mux(stream.encode())
        for second in range(1, seconds):
            for data, pts, dts, keyframe, time_base in gop:
                packet = av.Packet(data)
                packet.pts, packet.dts = pts + second * fps, dts + second * fps
                packet.is_keyframe, packet.time_base, packet.stream = keyframe, time_base, stream
                container.mux(packet)
