"""Standard Webhooks' headers: how our webhooks are signed, and (in the simulator
and the tests) how Replicate's are. The one place that builds them."""
import uuid
from datetime import datetime, timezone
from typing import Dict, Optional, Sequence, Union


def signed_headers(secrets: Union[str, Sequence[str]], body: str, msg_id: Optional[str] = None,
                   timestamp: Optional[datetime] = None) -> Dict[str, str]:
    """Content-Type and the three webhook-* headers; the signature holds one ``v1,...``
    per secret (several while a rotated secret still signs)."""
    from standardwebhooks.webhooks import Webhook
    secrets = [secrets] if isinstance(secrets, str) else list(secrets)
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    timestamp = timestamp or datetime.now(timezone.utc)
    return {"Content-Type": "application/json", "webhook-id": msg_id,
            "webhook-timestamp": str(int(timestamp.timestamp())),
            "webhook-signature": " ".join(Webhook(s).sign(msg_id, timestamp, body)
                                          for s in secrets)}
