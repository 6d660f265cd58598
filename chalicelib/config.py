"""Settings: one declaration per setting (its environment variable, type, default,
bounds and meaning), read from the environment once and validated. The
configuration table in the docs is generated from these declarations
(``python -m tools.settings_table``)."""
from functools import lru_cache
from typing import Annotated, Dict, Optional, Tuple
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from chalicelib.limits import Limits
from chalicelib.providers.port import PROVIDERS
from chalicelib.providers.routing import Routes, default_order
from chalicelib.resources import ResourceNames, resource_names, stage_settings
from chalicelib.secrets import fal_configured, replicate_configured
from chalicelib.storage import KINDS, MAX_COPY_BYTES
from chalicelib.url_settings import UrlPolicies, origin_of

REPLICATE_PUBLIC_URL = "https://api.replicate.com"
# Where Replicate serves prediction outputs.
REPLICATE_OUTPUT_ORIGINS = ("https://replicate.delivery", "https://*.replicate.delivery")
FAL_QUEUE_URL = "https://queue.fal.run"
FAL_JWKS_URL = "https://rest.alpha.fal.ai/.well-known/jwks.json"
# Where fal serves results' files.
FAL_OUTPUT_ORIGINS = ("https://fal.media", "https://*.fal.media")
DEFAULT_WEBHOOK_RETRY_DELAYS_S = (5, 300, 1800, 7200, 18000, 36000, 36000)


class Settings(UrlPolicies, BaseSettings):
    """Each field is the environment variable VSL_<NAME> unless it names another."""
    model_config = SettingsConfigDict(env_prefix="VSL_", extra="ignore",
                                      arbitrary_types_allowed=True)

    stage: str = Field("local", description="`local` or `homolog`; selects names and "
                       "settings in `chalicelib/resources.json`")
    replicate_api_token: Optional[str] = Field(
        None, validation_alias=AliasChoices("REPLICATE_API_TOKEN"),
        description="the Replicate token; alone, it means the real "
                    "api.replicate.com (on AWS the functions get its secret's ARN instead)")
    replicate_base_url: Optional[str] = Field(
        None, validation_alias=AliasChoices("REPLICATE_BASE_URL"),
        description="another Replicate-compatible endpoint (the "
                    "simulator); default: api.replicate.com when a token is configured")
    replicate_webhook_secret: Optional[str] = Field(
        None, validation_alias=AliasChoices("REPLICATE_WEBHOOK_SECRET"),
        description="Replicate's webhook signing secret; when "
                    "unset it is read from Replicate once")
    replicate_versions: Dict[str, str] = Field(
        default_factory=dict, description='JSON `{"owner/name": "version-id"}` pins; unpinned '
                                          "models use their latest version")
    fal_key: Optional[str] = Field(
        None, validation_alias=AliasChoices("FAL_KEY"),
        description="the fal.ai key; with it, fal serves the models it can as every "
                    "model's second provider (see `provider_routes`); on AWS the functions "
                    "get its secret's ARN instead")
    fal_base_url: Optional[str] = Field(
        None, validation_alias=AliasChoices("FAL_BASE_URL"),
        description="fal's queue endpoint (the fal simulator locally); default: "
                    "https://queue.fal.run when a key is configured")
    fal_jwks_url: str = Field(
        FAL_JWKS_URL, validation_alias=AliasChoices("FAL_JWKS_URL"),
        description="where fal publishes its webhook signing keys")
    fal_output_origins: Annotated[Tuple[str, ...], NoDecode] = Field(
        FAL_OUTPUT_ORIGINS, description="comma-separated origins fal's outputs may be fetched "
        "from; default: fal's media hosts, or the simulator's origin when `FAL_BASE_URL` "
        "points at one")
    fal_timeout_s: float = Field(7.0, gt=0, le=9, description="how long a call to fal may "
                                 "take to answer")
    jwks_max_age_s: float = Field(3600, ge=0, description="how long fal's webhook keys are "
                                  "used before they are fetched again (an unknown key "
                                  "fetches them sooner)")
    provider_routes: Dict[str, Tuple[str, ...]] = Field(
        default_factory=dict, description='JSON `{"model-id": ["fal", "replicate"]}`: the '
        "providers allowed for a model, preferred first; a model not named uses "
        "`replicate` then `fal` (fal only when its key is configured)")
    provider_down_after: int = Field(3, ge=1, description="definite failures in a row (5xx, "
                                     "429, unreachable) after which a provider is marked down")
    provider_cool_down_s: float = Field(30, ge=0, description="how long a provider marked "
                                        "down is skipped before one start probes it")
    public_base_url: Optional[str] = Field(
        None, description="where Replicate sends webhooks; default: derived from the request")
    media_bucket: Optional[str] = Field(
        None, description="the media bucket's name (bucket names are global on AWS); default: "
                          "the stage's name from `chalicelib/resources.json`")
    presign_expiry_s: int = Field(3600, ge=60, le=604800,
                                  description="how long a result link handed out stays valid")
    max_body_bytes: int = Field(65536, ge=1024, description="the largest submit body")
    max_upload_bytes: int = Field(10 * 1024 * 1024, ge=1024,
                                  description="the largest upload (an input image)")
    upload_url_expiry_s: int = Field(900, ge=60, le=3600,
                                     description="how long an upload's PUT link works")
    input_url_expiry_s: int = Field(3600, ge=60, le=43200,
                                    description="how long the link Replicate gets to an "
                                                "uploaded input works (it fetches it when the "
                                                "prediction starts)")
    allow_private_inputs: bool = Field(
        False, description="`true` only on the local stage: URLs may point at loopback and "
                           "private hosts (the simulator)")
    output_origins: Annotated[Tuple[str, ...], NoDecode] = Field(
        REPLICATE_OUTPUT_ORIGINS,
        description="comma-separated origins outputs may be fetched from (`*.` for "
                    "subdomains); default: Replicate's delivery hosts, or the simulator's "
                    "origin when `REPLICATE_BASE_URL` points at one")
    expiring_kinds: Annotated[Tuple[str, ...], NoDecode] = Field(
        KINDS, description="comma-separated kinds of stored object (`original`, `output`, "
        "`thumbnail`) a lifecycle rule of the bucket expires: only these carry the `kind` tag "
        "the rules select by (S3 bills each tag every month); Terraform sets it from the "
        "expiry variables, the local stack to none")
    max_output_bytes: int = Field(450_000_000, ge=1, le=MAX_COPY_BYTES, description="the "
                                  "largest output file copied (at most what one S3 CopyObject "
                                  "copies); a larger one fails its job with a clear error")
    # Replicate's answers must fit the API function's 25 s: a submit makes at most two
    # calls (a version lookup, once per process and model, then the create), each at
    # most 3 s to connect and this long to answer.
    replicate_timeout_s: float = Field(7.0, gt=0, le=9, description="how long a call to "
                                       "Replicate may take to answer")
    key_cache_s: float = Field(60, ge=0, le=300, description="how long an API process trusts "
                               "a key it looked up: the bound on a revocation taking effect")
    copy_lease_s: int = Field(150, ge=1, description="how long a processor holds a job's copy "
                              "(at least the processor's timeout)")
    reconcile_after_s: int = Field(30, ge=1, description="a quiet active job is checked "
                                   "against Replicate when polled after this long")
    replicate_creates_per_minute: int = Field(
        570, ge=1, le=100_000, description="prediction starts at Replicate a minute, every "
        "function together (Replicate allows 600; the rest is margin); a start beyond this "
        "pace is queued until its time (`docs/capacity.md`)")
    max_start_wait_s: int = Field(900, ge=0, le=86400, description="the longest a start may "
                                  "be queued for; a submit that would wait longer is refused "
                                  "with 503 and `Retry-After`")
    start_deadline_s: int = Field(120, ge=1, description="a job whose prediction is still "
                                  "unknown this long after its start was due (its submission, "
                                  "or the time Replicate's pace queued its start for) fails as "
                                  "never started (a job reusing another's result has none: it "
                                  "ends with that job)")
    cache_by_default: bool = Field(False, description='reuse identical results when a submit '
                                   'does not say `"cache"` itself')
    cache_window_s: int = Field(7 * 86400, ge=0, description="how far back results are reused")
    webhook_url: Optional[str] = Field(None, description="a stage-wide webhook target for "
                                       "every job's events")
    webhook_secret: Optional[str] = Field(None, description="its signing secret (`whsec_...`)")
    webhook_retry_delays_s: Annotated[Tuple[float, ...], NoDecode] = Field(
        DEFAULT_WEBHOOK_RETRY_DELAYS_S, description="comma-separated seconds between webhook "
        "delivery attempts (Standard Webhooks' schedule, about a day)")
    cors_origin: Optional[str] = Field(
        None, description="the one origin browsers elsewhere may call the API from: `*`, "
        "`https://app.example.com`, or empty for none; default: the stage's `cors_origin` in "
        "`chalicelib/resources.json`. One, because API Gateway answers preflights with a "
        "fixed header")
    aws_endpoint_url: Optional[str] = Field(
        None, validation_alias=AliasChoices("AWS_ENDPOINT_URL"),
        description="boto3's endpoint for every AWS service (the local stack's emulator); "
                    "its port is never a webhook target")
    playground_sample_image: Optional[str] = Field(
        None, description="an input image the playground offers for image-to-video "
                          "(`make run` sets the simulator's sample)")

    @field_validator("output_origins", "fal_output_origins", "webhook_retry_delays_s",
                     "expiring_kinds", mode="before")
    @classmethod
    def _comma_separated(cls, value):
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        return value

    @field_validator("expiring_kinds")
    @classmethod
    def _known_kinds(cls, value: Tuple[str, ...]) -> Tuple[str, ...]:
        unknown = sorted(set(value) - set(KINDS))
        if unknown:
            raise ValueError(f"expected kinds of {', '.join(KINDS)}; got {', '.join(unknown)}")
        return value

    @field_validator("provider_routes")
    @classmethod
    def _known_providers(cls, value: Dict[str, Tuple[str, ...]]):
        from chalicelib.catalog import CATALOG
        for model_id, order in value.items():
            unknown = sorted(set(order) - set(PROVIDERS))
            if model_id not in CATALOG or unknown or not order or len(set(order)) != len(order):
                raise ValueError(f"{model_id}: expected a catalog model and distinct providers "
                                 f"of {', '.join(PROVIDERS)}; got {list(order)}")
        return value

    @field_validator("public_base_url", "replicate_base_url", "fal_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: Optional[str]) -> Optional[str]:
        return value.rstrip("/") or None if value else None

    @model_validator(mode="after")
    def _derived_defaults(self):
        """Defaults that depend on other settings, for those not given."""
        given = self.model_fields_set
        if self.replicate_base_url is None and replicate_configured():
            # On AWS only the token's secret ARN is set: the token is read when first
            # needed (chalicelib.secrets), but it is configured, so api.replicate.com.
            self.replicate_base_url = REPLICATE_PUBLIC_URL
        if "output_origins" not in given and self.replicate_base_url and \
                self.replicate_base_url != REPLICATE_PUBLIC_URL:
            self.output_origins = (origin_of(self.replicate_base_url),)  # a simulator's own
        if self.fal_base_url is None and self.fal_configured:
            self.fal_base_url = FAL_QUEUE_URL
        if "fal_output_origins" not in given and self.fal_base_url and \
                self.fal_base_url != FAL_QUEUE_URL:
            self.fal_output_origins = (origin_of(self.fal_base_url),)
        if "cors_origin" not in given:
            self.cors_origin = stage_settings(self.stage).get("cors_origin")
        return self

    @property
    def fal_configured(self) -> bool:
        """A fal key is given, or its secret's ARN (on AWS: the key is read from the
        secret when a call to fal needs it, chalicelib.secrets)."""
        return bool(self.fal_key) or fal_configured()

    @property
    def routes(self) -> Routes:
        return Routes(default=default_order(self.fal_configured),
                      by_model=dict(self.provider_routes))

    @property
    def names(self) -> ResourceNames:
        return resource_names(self.stage, self.media_bucket)

    @property
    def rate_limits(self) -> Limits:
        return Limits(**stage_settings(self.stage)["rate_limits"])

    @model_validator(mode="after")
    def _webhook_needs_its_secret(self):
        if self.webhook_url and not (self.webhook_secret or "").startswith("whsec_"):
            raise ValueError("VSL_WEBHOOK_URL needs VSL_WEBHOOK_SECRET (whsec_...)")
        return self

    @field_validator("cors_origin")
    @classmethod
    def _one_origin(cls, value: Optional[str]) -> Optional[str]:
        if value in (None, "", "*"):
            return value or None
        parts = urlsplit(value)
        if (parts.scheme not in ("http", "https") or not parts.hostname or parts.username
                or parts.path not in ("", "/") or parts.query or parts.fragment
                or "*" in value or "," in value):
            raise ValueError("expected '*' or one origin such as https://app.example.com; "
                             f"got {value!r}")
        return f"{parts.scheme}://{parts.netloc}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
