"""Webhook delivery: SSRF guard, Standard Webhooks signing, the urllib3 sender, retry rules
(README "Delivery")."""

from secnotify.delivery.http import (
    SendState,
    SendStateCache,
    WebhookRequest,
    WebhookSender,
    prepare_send,
    shared_pool,
)
from secnotify.delivery.outcome import DeliveryOutcome, classify, next_delay, parse_retry_after
from secnotify.delivery.signing import USER_AGENT, generate_secret, sign
from secnotify.delivery.ssrf import BlockedTarget, SsrfGuard

__all__ = [
    "USER_AGENT",
    "BlockedTarget",
    "DeliveryOutcome",
    "SendState",
    "SendStateCache",
    "SsrfGuard",
    "WebhookRequest",
    "WebhookSender",
    "classify",
    "generate_secret",
    "next_delay",
    "parse_retry_after",
    "prepare_send",
    "shared_pool",
    "sign",
]
