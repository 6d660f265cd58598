"""Settings, read once from the environment and validated."""
import os
from functools import lru_cache
import json
from typing import Dict, Optional

from pydantic import BaseModel, Field

from chalicelib.limits import Limits
from chalicelib.resources import ResourceNames, resource_names, stage_settings
from chalicelib.secrets import replicate_configured

REPLICATE_PUBLIC_URL = "https://api.replicate.com"


class Settings(BaseModel):
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
    # Local stages may fetch inputs from loopback/private hosts (the simulator).
    allow_private_inputs: bool = False
    replicate_timeout_s: float = Field(10.0, gt=0)
    # A quiet active job is checked against Replicate when polled (lost webhooks).
    reconcile_after_s: int = Field(30, ge=1)
    # Pinned Replicate version ids by "owner/name"; unpinned models use their latest.
    replicate_versions: Dict[str, str] = Field(default_factory=dict)


def settings_from_env(env=None) -> Settings:
    env = os.environ if env is None else env
    stage = env.get("VSL_STAGE", "local")
    token = env.get("REPLICATE_API_TOKEN") or None
    # On AWS only the token's secret ARN is set: the token is read when first
    # needed (chalicelib.secrets), but it is configured, so api.replicate.com.
    base_url = env.get("REPLICATE_BASE_URL") or (
        REPLICATE_PUBLIC_URL if replicate_configured(env) else None)
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
        replicate_versions=json.loads(env.get("VSL_REPLICATE_VERSIONS") or "{}"),
        reconcile_after_s=int(env.get("VSL_RECONCILE_AFTER_S", 30)),
        allow_private_inputs=env.get("VSL_ALLOW_PRIVATE_INPUTS", "false").lower() == "true",
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return settings_from_env()
