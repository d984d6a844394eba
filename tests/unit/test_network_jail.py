"""The test session's network jail (tests/conftest.py) holds: nothing leaves loopback."""

from __future__ import annotations

import socket

import pytest


@pytest.mark.parametrize("address", [("10.255.255.1", 9), ("169.254.169.254", 80), ("8.8.8.8", 53)])
def test_connect_outside_loopback_is_refused(address: tuple[str, int]) -> None:
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError, match="jail"):
        sock.connect(address)


def test_dns_lookups_of_names_are_refused() -> None:
    with pytest.raises(socket.gaierror, match="jail"):
        socket.getaddrinfo("example.com", 443)


def test_loopback_still_works() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=2):
            pass
    assert socket.getaddrinfo("localhost", 80)
