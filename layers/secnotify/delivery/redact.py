"""Masking the secrets a receiver echoes back, before its answer reaches a delivery record, a
test-send response or a log line.

A receiver may echo a secret changed: in another case, its UTF-8 bytes read as Latin-1 (the usual
mojibake), JSON- or percent-escaped, base64 (standard or URL-safe, padded or not) or hex. Every
such form is masked. A base64 secret can also sit inside a longer encoded blob (``user:secret``
in Basic auth, a whole header line), at one of three byte alignments: for each, the characters
that depend on the secret alone are masked; at most one character at each end, which mixes in
neighbouring bytes, can stay. Forms shorter than ``ANYWHERE_MIN`` are masked only as whole
tokens (not next to a letter or digit): a three-character secret is still a secret, but masking
``abc`` inside every word would garble the rest of the answer. Matching ignores case throughout,
which can only mask more.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, unquote

MASK = "***"
ANYWHERE_MIN = 8

# Words that open an Authorization value and say how, not what: never masked on their own.
_AUTH_SCHEMES = frozenset(
    {
        "basic",
        "bearer",
        "digest",
        "hoba",
        "mutual",
        "negotiate",
        "ntlm",
        "oauth",
        "token",
        "apikey",
        "api-key",
        "key",
        "dpop",
        "vapid",
        "ssws",
        "splunk",
        "genie-key",
        "aws4-hmac-sha256",
        "scram-sha-1",
        "scram-sha-256",
    }
)
_SIGNING_PREFIX = "whsec_"


def _b64_forms(raw: bytes) -> set[str]:
    out: set[str] = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        full = encode(raw).decode("ascii")
        out |= {full, full.rstrip("=")}
        for shift in (0, 1, 2):
            # The secret ``shift`` bytes into a longer stream: keep only the characters whose
            # six bits all come from the secret.
            text = encode(b"\0" * shift + raw).decode("ascii")
            core = text[-(-8 * shift // 6) : 8 * (shift + len(raw)) // 6]
            if len(core) >= ANYWHERE_MIN:
                out.add(core)
    return out


def _forms(secret: str) -> set[str]:
    """Every text a receiver might echo for ``secret``."""
    raw = secret.encode("utf-8", "surrogatepass")
    forms = {secret, secret.lower(), secret.upper(), secret.casefold()}
    forms.add(raw.decode("latin-1"))  # UTF-8 bytes read as Latin-1
    forms.add(json.dumps(secret)[1:-1])
    forms |= {quote(secret, safe=""), quote_plus(secret, safe="")}
    forms.add(raw.hex())  # upper-case hex matches too: case is ignored
    forms |= _b64_forms(raw)
    return {f for f in forms if f}


def _header_secrets(value: str) -> list[str]:
    """The value, and the credential inside ``<scheme> <credential>`` forms."""
    out = [value]
    parts = value.split()
    if len(parts) > 1:
        out += [p for i, p in enumerate(parts) if i > 0 or p.lower() not in _AUTH_SCHEMES]
        if parts[0].lower() == "basic":
            try:
                pair = base64.b64decode(parts[1], validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError, IndexError):
                pair = ""
            if ":" in pair:
                out += [pair, pair.split(":", 1)[1]]
    return out


def _signing_secrets(secret: str) -> list[str]:
    out = [secret]
    if secret.startswith(_SIGNING_PREFIX):
        encoded = secret[len(_SIGNING_PREFIX) :]
        out.append(encoded)
        with contextlib.suppress(binascii.Error, ValueError):
            out.append(base64.b64decode(encoded).hex())
    return out


class Masker:
    """Replaces every form of a set of secrets with ``***``; safe to share between threads.

    Compiling the pattern costs milliseconds per integration (a cold fan-out to 200 paid 0.6 s),
    while most answers echo nothing: a case-folded substring test decides first, and the
    pattern is compiled only for an answer that may hold a secret.
    """

    def __init__(self, forms: tuple[str, ...]) -> None:
        self._forms = forms  # longest first
        self._folded = tuple({f.casefold() for f in forms})
        # The pattern matches character for character, so no text shorter than every form can hold one.
        self._shortest = min(map(len, forms), default=0)
        self._pattern: re.Pattern[str] | None = None
        self.longest = max(map(len, forms), default=0)  # so a caller can scrub a prefix of a text

    def mask(self, text: str) -> str:
        if not self._forms or len(text) < self._shortest:
            return text  # also the usual short answer ("ok", "{}"), which can hold no secret
        folded = text.casefold()
        if not any(form in folded for form in self._folded):
            return text
        if self._pattern is None:
            self._pattern = _compile(self._forms)  # a race compiles it twice, harmlessly
        return self._pattern.sub(MASK, text)


def _compile(forms: tuple[str, ...]) -> re.Pattern[str]:
    parts = []
    for form in forms:
        escaped = re.escape(form)
        parts.append(escaped if len(form) >= ANYWHERE_MIN else rf"(?<![^\W_]){escaped}(?![^\W_])")
    return re.compile("|".join(parts), re.IGNORECASE)


@functools.lru_cache(maxsize=1024)
def _masker(secrets: tuple[str, ...]) -> Masker:
    forms: set[str] = set()
    for secret in secrets:
        forms |= _forms(secret)
    # Longest first, so a form is masked whole before any part of it is.
    return Masker(tuple(sorted(forms, key=lambda f: (-len(f), f))))


def masker_for(
    header_secrets: Iterable[str],
    signing_secret: str | None,
    other_secrets: Iterable[str] = (),
    previous_signing_secret: str | None = None,
) -> Masker:
    """The masker for an integration's secret header values, signing secrets (the current one,
    and the one a rotation replaced) and other secret values (named secrets, which a URL may
    carry verbatim when already percent-encoded: their decoded form is masked too)."""
    secrets: list[str] = []
    for value in header_secrets:
        if value:
            secrets += _header_secrets(value)
    for signing in (signing_secret, previous_signing_secret):
        if signing:
            secrets += _signing_secrets(signing)
    for value in other_secrets:
        if value:
            secrets += [value, unquote(value)]
    return _masker(tuple(sorted(set(secrets))))
