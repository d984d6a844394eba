"""One TLS context per verification mode, built once per process and shared by every connection.

Left to itself urllib3 builds a context, and loads the system CA store into it, for every new
HTTPS connection: 20-25 ms of CPU each, which a fan-out to many hosts pays on every host. The
verification is the same as urllib3's own: the context comes from ``create_urllib3_context``
(its protocol floor and ciphers), the verifying one requires a certificate and loads the same
default CA store (``load_default_certs``: OpenSSL's default paths, so ``SSL_CERT_FILE`` and
``SSL_CERT_DIR`` still apply), and the host name is matched by urllib3 against the URL's host
(``assert_hostname``), exactly as it does when it builds the context itself for a connection
to an IP address that names the host through SNI.

urllib3 writes ``verify_mode`` and ``check_hostname`` onto the context of each connection; the
values these contexts are built with are the ones it writes for their mode, so sharing them
changes nothing. Callers must pair a context with its mode's ``cert_reqs`` (``pool_kwargs``).
"""

from __future__ import annotations

import ssl
import threading
from collections import OrderedDict

from urllib3.util.ssl_ import create_urllib3_context

# A pool configured with its own CA file (``ca_certs`` & co.) gets a verifying context that
# trusts exactly those, as urllib3 would; a few are kept, the default ones always.
_MAX_CUSTOM_CA = 8

CaSource = tuple[str | None, str | None, str | bytes | None]  # ca_certs, ca_cert_dir, ca_cert_data
_NO_CA: CaSource = (None, None, None)

_lock = threading.Lock()
_contexts: OrderedDict[tuple[bool, CaSource], ssl.SSLContext] = OrderedDict()


def _build(verify: bool, ca: CaSource) -> ssl.SSLContext:
    if not verify:
        return create_urllib3_context(cert_reqs=ssl.CERT_NONE)
    context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
    # urllib3 turns this off on every connection that names the host in ``assert_hostname`` and
    # checks the name itself; off from the start, the shared context is never changed by it.
    context.check_hostname = False
    if ca == _NO_CA:
        context.load_default_certs()
    else:
        context.load_verify_locations(*ca)
    return context


def tls_context(verify: bool, ca: CaSource = _NO_CA) -> ssl.SSLContext:
    """The shared context for a mode: certificates verified, or any certificate accepted."""
    key = (verify, ca if verify else _NO_CA)
    context = _contexts.get(key)
    if context is not None:
        return context
    with _lock:
        context = _contexts.get(key)
        if context is None:
            context = _contexts[key] = _build(*key)
            custom = [k for k in _contexts if k[1] != _NO_CA]
            if len(custom) > _MAX_CUSTOM_CA:
                del _contexts[custom[0]]
        return context
