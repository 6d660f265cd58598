"""The playground: one self-contained HTML page (``index.html`` beside this
module) that the API serves at ``/``. The page holds the user's API key, so its
Content-Security-Policy lets only its own inline script and style run (by hash)
and lets it talk only to its own origin."""
import base64
import hashlib
import re
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Dict, Optional, Tuple

PAGE = Path(__file__).with_name("index.html")
_SAMPLE_META = '<meta name="vsl-sample-image" content="">'


def _hashes(html: str, tag: str) -> str:
    return " ".join(
        "'sha256-%s'" % base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        for body in re.findall(rf"<{tag}>(.*?)</{tag}>", html, re.S))


@lru_cache(maxsize=2)
def page(sample_image: Optional[str] = None,
         upload_origin: Optional[str] = None) -> Tuple[str, Dict[str, str]]:
    """The page and its headers; ``sample_image`` prefills image-to-video's input, and
    files dropped on the page are PUT to ``upload_origin`` (the media bucket)."""
    html = PAGE.read_text(encoding="utf-8").replace(
        _SAMPLE_META, f'<meta name="vsl-sample-image" content="{escape(sample_image or "")}">')
    connect = "'self'" + (f" {upload_origin}" if upload_origin else "")
    # Results are presigned links to the bucket (plain http on the local emulator); a
    # chosen file's preview is a blob: URL.
    csp = (f"default-src 'none'; script-src {_hashes(html, 'script')}; "
           f"style-src {_hashes(html, 'style')}; connect-src {connect}; "
           "img-src 'self' http: https: blob:; media-src 'self' http: https:; "
           "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
    return html, {"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": csp,
                  "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
                  "Referrer-Policy": "no-referrer"}
