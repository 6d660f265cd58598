"""The URL policies the settings imply (chalicelib.urls): which URLs the service may
be told to fetch or call, from the configured origins and the stage."""
from typing import Tuple
from urllib.parse import urlsplit

from chalicelib.urls import DEFAULT_PORTS, Origin, UrlPolicy


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class UrlPolicies:
    """Part of chalicelib.config.Settings, whose fields these properties read
    (allow_private_inputs, aws_endpoint_url, fal_jwks_url, fal_configured and the
    output origins)."""

    @property
    def input_policy(self) -> UrlPolicy:
        """Input URLs Replicate will fetch: any public http(s) host, standard ports."""
        return UrlPolicy(schemes=frozenset({"http", "https"}),
                         allow_private=self.allow_private_inputs)

    @property
    def output_policy(self) -> UrlPolicy:
        """The providers' output files: only from their delivery origins (the simulators'
        locally)."""
        fal = self.fal_output_origins if self.fal_configured else ()
        configured = self.output_origins + fal
        origins = tuple(Origin.parse(o) for o in configured)
        return UrlPolicy(schemes=frozenset(o.scheme for o in origins),
                         allow_private=self.allow_private_inputs, origins=origins)

    @property
    def jwks_policy(self) -> UrlPolicy:
        """fal's JWKS: only from its configured origin."""
        origin = Origin.parse(origin_of(self.fal_jwks_url))
        return UrlPolicy(schemes=frozenset({origin.scheme}), origins=(origin,),
                         allow_private=self.allow_private_inputs)

    @property
    def webhook_policy(self) -> UrlPolicy:
        """Client webhook targets: https and public hosts; on the local stage, only this
        machine (loopback, unprivileged ports, never the AWS emulator's)."""
        if self.allow_private_inputs:
            return UrlPolicy(schemes=frozenset({"http", "https"}), loopback_only=True,
                             denied_ports=frozenset(self._service_ports()))
        return UrlPolicy(schemes=frozenset({"https"}))

    def _service_ports(self) -> Tuple[int, ...]:
        if not self.aws_endpoint_url:
            return ()
        parts = urlsplit(self.aws_endpoint_url)
        try:
            return (parts.port or DEFAULT_PORTS.get(parts.scheme, 80),)
        except ValueError:
            return ()
