"""Named secrets (README "Secrets"): write-only values an integration uses as ``{Secret[name]}`` in its
payload and in its URL's path or query. The rules both the API and delivery follow live here."""

from __future__ import annotations

import re
from urllib.parse import quote

from secnotify.models.integration import HEADER_VALUE_FORBIDDEN

SECRET_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"  # noqa: S105 - a pattern, not a secret
SECRET_NAME = re.compile(SECRET_NAME_PATTERN)
MAX_SECRETS = 20
MAX_SECRET_BYTES = 4096
# What a preview (and a save's check render) shows in place of every secret value.
SECRET_MASK = "***"  # noqa: S105 - the mask, not a secret

# `{Secret[...]}` in a URL, whatever is between the brackets: a bad name is refused by name
# rather than sent as literal text.
URL_SECRET = re.compile(r"\{Secret\[([^\[\]{}]*)\]\}")
# Up to the end of the authority: `scheme:` and `//user@host:port`.
_ORIGIN_PART = re.compile(r"^[^:/?#]*:(?://[^/?#]*)?")
# Sent verbatim: only RFC 3986 unreserved characters and well-formed %XX escapes.
_URL_READY = re.compile(r"(?:[A-Za-z0-9\-._~]|%[0-9A-Fa-f]{2})*")


def secret_value_problem(value: str) -> str | None:
    """Why ``value`` cannot be a secret value, or None. Control characters and line breaks are
    refused (tab allowed), as in a header value: a secret may go into a URL or a header-like
    field of a payload, where they would split or corrupt it."""
    if not value:
        return "must not be empty"
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        return "must be valid Unicode text (no lone surrogates)"
    if size > MAX_SECRET_BYTES:
        return f"must be at most {MAX_SECRET_BYTES} bytes in UTF-8"
    if HEADER_VALUE_FORBIDDEN.search(value):
        return "must not contain control characters or line breaks"
    return None


def url_secret_names(url: str) -> list[str]:
    """The secret names a URL uses, first use first, each once."""
    return list(dict.fromkeys(m.group(1) for m in URL_SECRET.finditer(url)))


def check_url_secrets(url: str) -> str:
    """Refuse a ``{Secret[...]}`` outside the path and query, or with an invalid name; ``url``
    with each replaced by a neutral ``x``, for the URL's other checks. The origin is what the
    SSRF guard vets and the kept-secrets rule compares, so no secret may ever decide it."""
    found = list(URL_SECRET.finditer(url))
    if not found:
        return url
    origin = _ORIGIN_PART.match(url)
    origin_end = origin.end() if origin else 0
    fragment = url.find("#")
    for match in found:
        name = match.group(1)
        if not SECRET_NAME.match(name):
            raise ValueError(
                f"{{Secret[{name[:70]}]}} does not name a secret: names are a letter, then up to 63 "
                "letters, digits or underscores"
            )
        if match.start() < origin_end:
            raise ValueError(
                f"{{Secret[{name}]}} may appear only in the path or query, never in the scheme, host or port"
            )
        if 0 <= fragment < match.start():
            raise ValueError(f"{{Secret[{name}]}} may appear only in the path or query, not the fragment")
    return URL_SECRET.sub("x", url)


def url_encoded(value: str) -> str:
    """A secret value as it goes into a URL: verbatim when it holds only unreserved characters and
    %XX escapes (a signature copied from a URL stays as it was), percent-encoded otherwise (every
    byte but the unreserved ones, so it can neither end the query nor start a parameter)."""
    if _URL_READY.fullmatch(value):
        return value
    return quote(value, safe="")
