"""Standard Webhooks v1 signing, checked against the reference implementation."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

import secnotify
from secnotify.delivery import USER_AGENT, generate_secret, sign

# The example from the Standard Webhooks specification.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TS = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_matches_the_specification_example() -> None:
    assert sign(SPEC_SECRET, SPEC_ID, SPEC_TS, SPEC_BODY) == SPEC_SIG


@pytest.mark.parametrize(
    "body",
    [b"{}", b'{"title": "S\xc3\xa9curit\xc3\xa9 \xe2\x9c\x93"}', b"", b"line1\nline2\r\n\t"],
)
def test_agrees_with_reference_sign(body: bytes) -> None:
    secret = generate_secret()
    ts = 1_700_000_123
    expected = Webhook(secret).sign("msg_42", datetime.fromtimestamp(ts, tz=UTC), body.decode())
    assert sign(secret, "msg_42", ts, body) == expected


def test_reference_verifies_our_signature() -> None:
    secret = generate_secret()
    now = int(datetime.now(tz=UTC).timestamp())
    body = b'{"problem": "P-1", "risk": "CRITICAL"}'
    headers = {
        "webhook-id": "evt-1:int-1",
        "webhook-timestamp": str(now),
        "webhook-signature": sign(secret, "evt-1:int-1", now, body),
    }
    assert Webhook(secret).verify(body, headers) == {"problem": "P-1", "risk": "CRITICAL"}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(body, headers)


def test_signature_depends_on_every_input() -> None:
    secret = generate_secret()
    base = sign(secret, "id", 1, b"body")
    assert sign(secret, "id2", 1, b"body") != base
    assert sign(secret, "id", 2, b"body") != base
    assert sign(secret, "id", 1, b"body!") != base
    assert sign(generate_secret(), "id", 1, b"body") != base


def test_generated_secret_shape() -> None:
    secrets = {generate_secret() for _ in range(20)}
    assert len(secrets) == 20
    for secret in secrets:
        assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret)
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32


def test_accepts_unprefixed_and_unpadded_secret_like_reference() -> None:
    key = base64.b64encode(b"k" * 32).decode().rstrip("=")
    assert sign(key, "a", 1, b"x") == sign("whsec_" + key + "=", "a", 1, b"x")
    assert sign(key, "a", 1, b"x") == Webhook("whsec_" + key).sign(
        "a", datetime.fromtimestamp(1, tz=UTC), "x"
    )


@pytest.mark.parametrize("bad", ["whsec_", "whsec_!!!!", ""])
def test_rejects_empty_secret(bad: str) -> None:
    with pytest.raises(ValueError):
        sign(bad, "a", 1, b"x")


def test_user_agent_carries_version() -> None:
    assert f"secnotify/{secnotify.__version__}" == USER_AGENT


def test_a_rotations_previous_key_signs_until_its_time_and_not_at_it() -> None:
    from secnotify.delivery import prepare_send

    new, old = generate_secret(), generate_secret()
    now = int(datetime.now(tz=UTC).timestamp())
    state = prepare_send((), new, frozenset(), previous_signing_secret=old, previous_signing_until=now + 60)
    both = state.signature("msg_1", now + 59, SPEC_BODY)
    assert both == f"{sign(new, 'msg_1', now + 59, SPEC_BODY)} {sign(old, 'msg_1', now + 59, SPEC_BODY)}"
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(now + 59), "webhook-signature": both}
    for secret in (new, old):
        assert Webhook(secret).verify(SPEC_BODY, headers) == {"test": 2432232314}
    assert state.signature("msg_1", now + 60, SPEC_BODY) == sign(new, "msg_1", now + 60, SPEC_BODY)
    # The previous secret is masked like the current one, should a receiver echo it.
    assert state.masker.mask(f"got {old}") == "got ***"
    # Without a current secret nothing is signed, whatever was stored beside it.
    unsigned = prepare_send(
        (), None, frozenset(), previous_signing_secret=old, previous_signing_until=now + 60
    )
    assert unsigned.signature("msg_1", now, SPEC_BODY) is None
