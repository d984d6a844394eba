"""SSRF guard: resolve a webhook host once and refuse internal, special-purpose addresses (README "Delivery").

The caller connects to the address ``vet`` returns, never to the host name again, so a DNS answer
that changes between the check and the connect (DNS rebinding) cannot steer the request.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from secnotify.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]


class BlockedTarget(Exception):
    """The webhook target resolves to an address the guard refuses; the message says which and why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _nets(*cidrs: str) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


# Order matters only for the reason shown: the first match names it.
_V4_BLOCKED: tuple[tuple[tuple[IPNetwork, ...], str], ...] = (
    (_nets("255.255.255.255/32"), "broadcast"),
    (_nets("0.0.0.0/8"), "unspecified (this network)"),
    (_nets("127.0.0.0/8"), "loopback"),
    (_nets("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"), "private (RFC 1918)"),
    (_nets("100.64.0.0/10"), "shared CGNAT space (RFC 6598)"),
    (_nets("169.254.0.0/16"), "link-local"),
    (_nets("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"), "documentation"),
    (_nets("192.0.0.0/24"), "IETF protocol assignment"),
    (_nets("192.88.99.0/24"), "6to4 relay anycast"),
    (_nets("198.18.0.0/15"), "benchmarking"),
    (_nets("224.0.0.0/4"), "multicast"),
    (_nets("240.0.0.0/4"), "reserved"),
)

_V6_BLOCKED: tuple[tuple[tuple[IPNetwork, ...], str], ...] = (
    (_nets("::/128"), "unspecified"),
    (_nets("::1/128"), "loopback"),
    (_nets("fe80::/10"), "link-local"),
    (_nets("fc00::/7"), "unique local (ULA)"),
    (_nets("fec0::/10"), "site-local"),
    (_nets("ff00::/8"), "multicast"),
    (_nets("2001:db8::/32", "3fff::/20"), "documentation"),
    (_nets("100::/64"), "discard-only"),
    (_nets("64:ff9b:1::/48"), "local-use NAT64"),
    # Teredo tunnels to an arbitrary IPv4 host behind a relay; no real webhook lives there.
    (_nets("2001::/32"), "Teredo"),
    (_nets("2001::/23"), "IETF protocol assignment"),
    # Everything else in ::/8 (IPv4-compatible, IPv4-translated, ...) is reserved.
    (_nets("::/8"), "reserved"),
)

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_V4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_THIS_NETWORK = ipaddress.IPv4Network("0.0.0.0/8")
_IPV4_PART = re.compile(r"^(0x[0-9a-f]*|0[0-7]*|[1-9][0-9]*)$")


@functools.lru_cache(maxsize=4096)  # pure, and the same few hosts are sent to again and again
def parse_numeric_host(host: str) -> IPAddress | None:
    """The address a numeric host stands for, in every form ``inet_aton`` accepts, else ``None``.

    Done here rather than left to ``getaddrinfo`` so that an injected resolver (or a libc that parses
    differently) cannot let ``2130706433``, ``0x7f.1``, ``127.1`` or ``017700000001`` slip through.
    """
    text = host.strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text)
        except ValueError:
            return None
    text = text.removesuffix(".")
    parts = text.split(".")
    if not 1 <= len(parts) <= 4 or not all(_IPV4_PART.match(p) for p in parts):
        return None
    try:
        values = [int(p, 0) if not (p.startswith("0") and p[1:2].isdigit()) else int(p, 8) for p in parts]
    except ValueError:
        return None
    # inet_aton: the last part fills all the bytes the earlier parts leave.
    last_bits = 8 * (5 - len(parts))
    if any(v > 0xFF for v in values[:-1]) or values[-1] >= 1 << last_bits:
        return None
    number = 0
    for v in values[:-1]:
        number = (number << 8) | v
    number = (number << last_bits) | values[-1]
    return ipaddress.IPv4Address(number)


def _embedded_v4(addr: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, str] | None:
    """The IPv4 address an IPv6 form carries, for forms that end up talking to that IPv4 host."""
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped, "IPv4-mapped"
    if addr in _NAT64:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF), "NAT64"
    if addr.sixtofour is not None:
        return addr.sixtofour, "6to4"
    return None


def _listed_reason(addr: IPAddress, table: tuple[tuple[tuple[IPNetwork, ...], str], ...]) -> str | None:
    for nets, reason in table:
        if any(addr in n for n in nets):
            return reason
    # Backstop for special-purpose ranges registered after the table was written.
    if not addr.is_global:
        return "not globally routable"
    return None


def _v4_reason(addr: ipaddress.IPv4Address) -> str | None:
    return _listed_reason(addr, _V4_BLOCKED)


def block_reason(addr: IPAddress) -> str | None:
    """Why ``addr`` must not be a webhook target, or ``None`` when it may be."""
    if isinstance(addr, ipaddress.IPv4Address):
        return _v4_reason(addr)
    embedded = _embedded_v4(addr)
    if embedded is not None:
        v4, form = embedded
        inner = _v4_reason(v4)
        return f"{form} {v4}, which is {inner}" if inner else None
    if addr in _V4_COMPATIBLE and int(addr) > 1:
        return f"IPv4-compatible (deprecated) form of {ipaddress.IPv4Address(int(addr))}"
    return _listed_reason(addr, _V6_BLOCKED)


def _show(addr: IPAddress) -> str:
    # Python 3.13 prints mapped addresses dotted, 3.11 in hex; say it the same way on both.
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return f"::ffff:{addr.ipv4_mapped}"
    return str(addr)


def _this_machine(addr: IPAddress) -> bool:
    """Whether a connection to ``addr`` lands on this machine: loopback, or the unspecified
    address (which Linux connects to locally), in any IPv6 form that carries them."""
    if isinstance(addr, ipaddress.IPv6Address):
        embedded = _embedded_v4(addr)
        if embedded is not None:
            addr = embedded[0]
        elif addr in _V4_COMPATIBLE:
            addr = ipaddress.IPv4Address(int(addr))
    if isinstance(addr, ipaddress.IPv4Address):
        return addr in _THIS_NETWORK or addr.is_loopback
    return addr.is_loopback or addr.is_unspecified


def _show_port(addr: IPAddress, port: int) -> str:
    shown = _show(addr)
    return f"[{shown}]:{port}" if ":" in shown else f"{shown}:{port}"


_MAX_VERDICTS = 4096


def _default_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class SsrfGuard:
    """Decides which address a webhook may be sent to. There is no off switch.

    ``vet`` resolves exactly once, checks every address the name resolves to, and refuses the
    whole target if any of them is blocked (picking a "good" one would still let an attacker who
    controls the DNS answer win a race). CIDRs in ``allow_cidrs`` override the block list; ports
    in ``deny_ports`` stay refused on this machine's own addresses (loopback, unspecified) even
    when an allowed CIDR covers them, so a local stack that allows loopback for its receivers
    still keeps webhooks off its own endpoint and API.
    Resolution failures propagate as ``OSError`` (``socket.gaierror``): they are transient.
    """

    def __init__(
        self,
        allow_cidrs: Sequence[str] = (),
        resolver: Resolver | None = None,
        deny_ports: Iterable[int] = (),
    ) -> None:
        self.allowed: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(c.strip(), strict=False) for c in allow_cidrs if c.strip()
        )
        self.deny_ports = frozenset(deny_ports)
        self._resolve = resolver or _default_resolver
        self._verdicts: dict[tuple[IPAddress, int], str | None] = {}

    @classmethod
    def from_settings(cls, settings: Settings, resolver: Resolver | None = None) -> SsrfGuard:
        return cls(settings.ssrf_allow_cidrs, resolver=resolver, deny_ports=settings.ssrf_deny_ports)

    def _allowed(self, addr: IPAddress) -> bool:
        candidates: list[IPAddress] = [addr]
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            candidates.append(addr.ipv4_mapped)
        return any(c in net for c in candidates for net in self.allowed)

    def addresses(self, host: str, port: int) -> list[IPAddress]:
        """Every address ``host`` stands for: itself when numeric, else one resolver call."""
        literal = parse_numeric_host(host)
        if literal is not None:
            return [literal]
        found: list[IPAddress] = []
        for raw in self._resolve(host, port):
            # getaddrinfo may append a scope ("fe80::1%eth0"); the scope does not change the verdict.
            addr = ipaddress.ip_address(raw.split("%", 1)[0])
            if addr not in found:
                found.append(addr)
        if not found:
            raise socket.gaierror(socket.EAI_NONAME, f"no address for {host}")
        return found

    def vet(self, host: str, port: int) -> str:
        """The address to connect to for ``host``; raises ``BlockedTarget`` when it is refused."""
        found = self.addresses(host, port)
        for addr in found:
            refusal = self._refusal(addr, port)
            if refusal is not None:
                raise BlockedTarget(refusal)
        chosen = found[0]
        # Talk IPv4 to an IPv4-mapped address: the socket layer would do so anyway.
        if isinstance(chosen, ipaddress.IPv6Address) and chosen.ipv4_mapped is not None:
            return str(chosen.ipv4_mapped)
        return str(chosen)

    def _refusal(self, addr: IPAddress, port: int) -> str | None:
        # The verdict on an address depends on nothing but it, the port and this guard's fixed
        # lists: decided once (every send vets its target again, the answer may differ).
        key = (addr, port)
        try:
            return self._verdicts[key]
        except KeyError:
            pass
        refusal: str | None = None
        if port in self.deny_ports and _this_machine(addr):
            refusal = f"blocked: {_show_port(addr, port)} is the local stack's own endpoint"
        elif not self._allowed(addr):
            reason = block_reason(addr)
            refusal = f"blocked: {_show(addr)} is {reason}" if reason is not None else None
        if len(self._verdicts) >= _MAX_VERDICTS:
            self._verdicts.clear()
        self._verdicts[key] = refusal
        return refusal
