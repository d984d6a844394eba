"""The references an export writes: one per secret slot, never shared between integrations."""

from __future__ import annotations

import hashlib

from secnotify.models.config_doc import SecretSlot, integration_tokens, reference


def digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:6].upper()


def test_a_token_nobody_shares_stays_plain() -> None:
    assert integration_tokens(["Pager duty", "Slack"]) == {"Pager duty": "PAGER_DUTY", "Slack": "SLACK"}


def test_each_integration_sharing_a_token_gets_a_suffix_of_its_exact_name_whatever_the_order() -> None:
    names = ["Slack prod", "Slack-prod", "slack PROD", "Other"]
    tokens = integration_tokens(names)
    assert tokens == {
        "Slack prod": f"SLACK_PROD_{digest('Slack prod')}",
        "Slack-prod": f"SLACK_PROD_{digest('Slack-prod')}",
        "slack PROD": f"SLACK_PROD_{digest('slack PROD')}",
        "Other": "OTHER",
    }
    assert integration_tokens(reversed(names)) == tokens
    assert len(set(tokens.values())) == len(names)


def test_a_suffixed_token_equal_to_another_s_plain_one_suffixes_that_one_too() -> None:
    crafted = f"Slack prod {digest('Slack prod')}"
    tokens = integration_tokens(["Slack prod", "Slack-prod", crafted])
    assert tokens[crafted] == f"SLACK_PROD_{digest('Slack prod')}_{digest(crafted)}"
    assert len(set(tokens.values())) == 3


def test_a_reference_takes_the_integration_s_token_when_given() -> None:
    tokens = integration_tokens(["Slack prod", "Slack-prod"])
    assert reference("Slack-prod", SecretSlot.HEADER, "X-Api-Key", tokens) == (
        f"${{SECNOTIFY_SLACK_PROD_{digest('Slack-prod')}_HEADER_X_API_KEY}}"
    )
    assert reference("Slack-prod", SecretSlot.SIGNING) == "${SECNOTIFY_SLACK_PROD_SIGNING_SECRET}"
