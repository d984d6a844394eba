"""Masking secrets that receivers echo back: every encoded form, and secrets of any length."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from secnotify.delivery.redact import MASK, masker_for

TOKEN = "s3cr3t-tök€n-0123456789"
RAW = TOKEN.encode()


def _b64_variants(raw: bytes) -> list[str]:
    out = []
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        text = encode(raw).decode()
        out += [text, text.rstrip("=")]
    return out


FORMS = {
    "exact": TOKEN,
    "lower": TOKEN.lower(),
    "upper": TOKEN.upper(),
    "casefold": TOKEN.casefold(),
    "latin-1 reading of the UTF-8 bytes": RAW.decode("latin-1"),
    "json escaped": json.dumps(TOKEN)[1:-1],
    "percent encoded": quote(TOKEN, safe=""),
    "hex lower": RAW.hex(),
    "hex upper": RAW.hex().upper(),
    **{f"base64 {i}": form for i, form in enumerate(_b64_variants(RAW))},
}


@pytest.mark.parametrize("form", list(FORMS.values()), ids=list(FORMS))
def test_every_form_of_an_echoed_secret_is_masked(form: str) -> None:
    masker = masker_for([f"Bearer {TOKEN}"], None)
    assert masker.mask(f"denied: {form}.") == f"denied: {MASK}."


@pytest.mark.parametrize("prefix", [b"", b"A", b"Au", b"Authorization: Bearer "])
def test_base64_of_a_longer_blob_holding_the_secret_is_masked(prefix: bytes) -> None:
    masker = masker_for([TOKEN], None)
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        blob = encode(prefix + RAW + b"\r\n").decode()
        masked = masker.mask(blob)
        assert MASK in masked
        # At most one character at each end mixes the secret's bits with its neighbours'.
        kept = masked.replace(MASK, "")
        assert len(blob) - len(kept) >= len(encode(RAW)) - 3


def test_a_short_secret_is_masked_as_a_whole_token_only() -> None:
    masker = masker_for(["abc"], None)
    assert masker.mask("key=abc; ABC, (abc) _abc") == f"key={MASK}; {MASK}, ({MASK}) _{MASK}"
    assert masker.mask("abcd xabc abc1 éabc") == "abcd xabc abc1 éabc"
    assert masker.mask(base64.b64encode(b"abc").decode() + " " + b"abc".hex()) == f"{MASK} {MASK}"
    # one character is a secret too, when it stands alone
    assert masker_for(["7"], None).mask("code 7 of 17") == f"code {MASK} of 17"


def test_an_answer_exactly_as_long_as_the_shortest_form_is_still_masked() -> None:
    masker = masker_for(["abc"], None)
    assert masker.mask("abc") == MASK
    assert masker.mask("ABC") == MASK
    assert masker.mask("ab") == "ab"  # shorter than every form: left as it is, unexamined
    assert masker_for(["7"], None).mask("7") == MASK


def test_credentials_inside_authorization_values_are_masked_alone() -> None:
    pair = "robot:pässwörd"
    masker = masker_for(["Basic " + base64.b64encode(pair.encode()).decode(), "Bearer xyz"], None)
    out = masker.mask(f"user {pair}; password pässwörd; token xyz; a Bearer scheme")
    assert out == f"user {MASK}; password {MASK}; token {MASK}; a Bearer scheme"


def test_signing_secret_and_its_key_are_masked() -> None:
    key = bytes(range(24))
    secret = "whsec_" + base64.b64encode(key).decode()
    masker = masker_for([], secret)
    for form in (secret, base64.b64encode(key).decode(), key.hex(), key.hex().upper()):
        assert masker.mask(f"[{form}]") == f"[{MASK}]"


def test_no_secrets_no_change() -> None:
    assert masker_for([], None).mask("anything at all") == "anything at all"
    assert masker_for([""], None).mask("anything") == "anything"


@given(
    secret=st.text(st.characters(exclude_categories=("Cs",)), min_size=8, max_size=40),
    pad=st.text(max_size=20),
)
def test_a_long_secret_never_survives_in_any_simple_form(secret: str, pad: str) -> None:
    masker = masker_for([secret], None)
    for form in (secret, secret.upper(), secret.encode().hex(), base64.b64encode(secret.encode()).decode()):
        assert form not in masker.mask(pad + form + pad) or form in pad
