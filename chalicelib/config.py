"""Settings, read once from the environment and validated."""
import json
import os
from functools import lru_cache
from typing import Dict, Optional, Tuple
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chalicelib.limits import Limits
from chalicelib.resources import ResourceNames, resource_names, stage_settings
from chalicelib.secrets import replicate_configured
from chalicelib.storage import MAX_COPY_BYTES
from chalicelib.urls import Origin, UrlPolicy

REPLICATE_PUBLIC_URL = "https://api.replicate.com"
# Where Replicate serves prediction outputs.
REPLICATE_OUTPUT_ORIGINS = ("https://replicate.delivery", "https://*.replicate.delivery")


class Settings(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    stage: str = "local"
    names: ResourceNames
    rate_limits: Limits = Field(default_factory=Limits)
    replicate_base_url: Optional[str] = None
    replicate_api_token: Optional[str] = None
    # Optional: when unset, the secret is read from Replicate's
    # /v1/webhooks/default/secret once and cached.
    replicate_webhook_secret: Optional[str] = None
    # Where Replicate sends webhooks; when unset, derived from the request.
    public_base_url: Optional[str] = None
    presign_expiry_s: int = Field(3600, ge=60, le=604800)
    max_body_bytes: int = Field(65536, ge=1024)
    # Local stages may point inputs at loopback/private hosts (the simulator).
    allow_private_inputs: bool = False
    # Origins outputs may be fetched from (scheme://host[:port]; "*." for subdomains).
    output_origins: Tuple[str, ...] = REPLICATE_OUTPUT_ORIGINS
    # The largest output file copied; a larger one fails its job with a clear error.
    # At most what one S3 CopyObject copies (reuse copies each object in one request).
    max_output_bytes: int = Field(450_000_000, ge=1, le=MAX_COPY_BYTES)
    # Replicate's answers must fit the API function's 25 s: a submit makes at most two
    # calls (a version lookup, once per process and model, then the create), each at
    # most 3 s to connect and this long to answer.
    replicate_timeout_s: float = Field(7.0, gt=0, le=9)
    # How long a process trusts an API key it looked up: a revocation takes this long.
    key_cache_s: float = Field(60, ge=0, le=300)
    # How long a processor holds a job's copy: at least the processor's timeout (120 s).
    copy_lease_s: int = Field(150, ge=1)
    # A quiet active job is checked against Replicate when polled (lost webhooks).
    reconcile_after_s: int = Field(30, ge=1)
    # Pinned Replicate version ids by "owner/name"; unpinned models use their latest.
    replicate_versions: Dict[str, str] = Field(default_factory=dict)
    # Reuse of identical results: on unless a submit says "cache": false, and how far back.
    cache_by_default: bool = False
    cache_window_s: int = Field(7 * 86400, ge=0)
    # Every job's events also go here, signed with its own secret (whsec_...).
    webhook_url: Optional[str] = None
    webhook_secret: Optional[str] = None
    # Seconds between webhook delivery attempts: Standard Webhooks' schedule, about a day.
    webhook_retry_delays_s: Tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
    # The one origin browsers elsewhere may call the API from ("*": any; None: no
    # CORS). One, because API Gateway answers preflights with a fixed header.
    cors_origin: Optional[str] = None
    # An input image the playground offers for image-to-video (locally, the simulator's).
    playground_sample_image: Optional[str] = None

    @model_validator(mode="after")
    def _webhook_needs_its_secret(self):
        if self.webhook_url and not (self.webhook_secret or "").startswith("whsec_"):
            raise ValueError("VSL_WEBHOOK_URL needs VSL_WEBHOOK_SECRET (whsec_...)")
        return self

    @property
    def webhook_policy(self) -> UrlPolicy:
        """Client webhook targets: https and public hosts; loopback too on the local stage."""
        return UrlPolicy(schemes=frozenset({"http", "https"}) if self.allow_private_inputs
                         else frozenset({"https"}), allow_private=self.allow_private_inputs)

    @field_validator("cors_origin")
    @classmethod
    def _one_origin(cls, value: Optional[str]) -> Optional[str]:
        if value in (None, "*"):
            return value
        parts = urlsplit(value)
        if (parts.scheme not in ("http", "https") or not parts.hostname or parts.username
                or parts.path not in ("", "/") or parts.query or parts.fragment
                or "*" in value or "," in value):
            raise ValueError("expected '*' or one origin such as https://app.example.com; "
                             f"got {value!r}")
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def input_policy(self) -> UrlPolicy:
        """Input URLs Replicate will fetch: any public http(s) host, standard ports."""
        return UrlPolicy(schemes=frozenset({"http", "https"}),
                         allow_private=self.allow_private_inputs)

    @property
    def output_policy(self) -> UrlPolicy:
        """Replicate's output files: only from its delivery origins (the simulator's locally)."""
        origins = tuple(Origin.parse(o) for o in self.output_origins)
        return UrlPolicy(schemes=frozenset(o.scheme for o in origins),
                         allow_private=self.allow_private_inputs, origins=origins)


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def settings_from_env(env=None) -> Settings:
    env = os.environ if env is None else env
    stage = env.get("VSL_STAGE", "local")
    token = env.get("REPLICATE_API_TOKEN") or None
    # On AWS only the token's secret ARN is set: the token is read when first
    # needed (chalicelib.secrets), but it is configured, so api.replicate.com.
    base_url = env.get("REPLICATE_BASE_URL") or (
        REPLICATE_PUBLIC_URL if replicate_configured(env) else None)
    if env.get("VSL_OUTPUT_ORIGINS"):
        output_origins = tuple(o.strip() for o in env["VSL_OUTPUT_ORIGINS"].split(",") if o.strip())
    elif base_url and base_url.rstrip("/") != REPLICATE_PUBLIC_URL:
        output_origins = (_origin_of(base_url),)  # a simulator serves its own outputs
    else:
        output_origins = REPLICATE_OUTPUT_ORIGINS
    return Settings(
        stage=stage,
        names=resource_names(stage, env.get("VSL_MEDIA_BUCKET") or None),
        rate_limits=Limits(**stage_settings(stage)["rate_limits"]),
        replicate_base_url=base_url,
        replicate_api_token=token,
        replicate_webhook_secret=env.get("REPLICATE_WEBHOOK_SECRET") or None,
        public_base_url=(env.get("VSL_PUBLIC_BASE_URL") or "").rstrip("/") or None,
        presign_expiry_s=int(env.get("VSL_PRESIGN_EXPIRY_S", 3600)),
        max_body_bytes=int(env.get("VSL_MAX_BODY_BYTES", 65536)),
        output_origins=output_origins,
        max_output_bytes=int(env.get("VSL_MAX_OUTPUT_BYTES", 450_000_000)),
        replicate_versions=json.loads(env.get("VSL_REPLICATE_VERSIONS") or "{}"),
        reconcile_after_s=int(env.get("VSL_RECONCILE_AFTER_S", 30)),
        key_cache_s=float(env.get("VSL_KEY_CACHE_S", 60)),
        copy_lease_s=int(env.get("VSL_COPY_LEASE_S", 150)),
        allow_private_inputs=env.get("VSL_ALLOW_PRIVATE_INPUTS", "false").lower() == "true",
        cache_by_default=env.get("VSL_CACHE_BY_DEFAULT", "false").lower() == "true",
        cache_window_s=int(env.get("VSL_CACHE_WINDOW_S", 7 * 86400)),
        webhook_url=env.get("VSL_WEBHOOK_URL") or None,
        webhook_secret=env.get("VSL_WEBHOOK_SECRET") or None,
        **({"webhook_retry_delays_s": tuple(float(x) for x in
                                            env["VSL_WEBHOOK_RETRY_DELAYS_S"].split(","))}
           if env.get("VSL_WEBHOOK_RETRY_DELAYS_S") else {}),
        cors_origin=(env["VSL_CORS_ORIGIN"] if "VSL_CORS_ORIGIN" in env
                     else stage_settings(stage).get("cors_origin")) or None,
        playground_sample_image=env.get("VSL_PLAYGROUND_SAMPLE_IMAGE") or None,
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return settings_from_env()
