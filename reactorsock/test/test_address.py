"""Tests for reactorsock.address."""

from __future__ import annotations

import socket
import sys

import attrs
import pytest
from zope.interface.verify import verifyObject

from reactorsock.address import IPv4Address, IPv6Address, UNIXAddress, address_from_sockaddr
from reactorsock.interfaces import IAddress


@pytest.mark.parametrize(
    "addr",
    [
        IPv4Address("TCP", "127.0.0.1", 80),
        IPv6Address("UDP", "::1", 53),
        UNIXAddress("/tmp/sock"),
        UNIXAddress(b"\0abstract"),
    ],
)
def test_provides_iaddress(addr):
    assert verifyObject(IAddress, addr)


def test_addresses_compare_and_hash_by_value():
    a = IPv4Address("TCP", "10.0.0.1", 1)
    assert a == IPv4Address("TCP", "10.0.0.1", 1)
    assert a != IPv4Address("UDP", "10.0.0.1", 1)
    assert {a: 1}[IPv4Address("TCP", "10.0.0.1", 1)] == 1
    assert IPv6Address("TCP", "::1", 1) == IPv6Address("TCP", "::1", 1, 0, 0)
    assert UNIXAddress("x") == UNIXAddress("x")
    assert UNIXAddress("x") != UNIXAddress(b"x")


def test_addresses_are_frozen():
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        IPv4Address("TCP", "10.0.0.1", 1).port = 2


def test_ipv6_twisted_attribute_names():
    a = IPv6Address("TCP", "fe80::1%lo", 5, flowInfo=3, scopeID=1)
    assert (a.type, a.host, a.port, a.flowInfo, a.scopeID) == ("TCP", "fe80::1%lo", 5, 3, 1)


def test_from_ipv4_socket():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        name = s.getsockname()
        addr = address_from_sockaddr("UDP", s.family, name)
    assert addr == IPv4Address("UDP", "127.0.0.1", name[1])


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6")
def test_from_ipv6_socket():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
    except OSError as e:  # pragma: no cover - depends on the host
        pytest.skip(f"no IPv6 loopback: {e}")
    with s:
        name = s.getsockname()
        addr = address_from_sockaddr("TCP", socket.AF_INET6, name)
    assert isinstance(addr, IPv6Address)
    assert (addr.type, addr.host, addr.port) == ("TCP", "::1", name[1])
    assert (addr.flowInfo, addr.scopeID) == (0, 0)


def test_from_ipv6_tuple_keeps_flowinfo_and_scope():
    addr = address_from_sockaddr("UDP", socket.AF_INET6, ("fe80::1%eth0", 7, 5, 2))
    assert addr == IPv6Address("UDP", "fe80::1%eth0", 7, 5, 2)


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no AF_UNIX")
def test_from_unix_path_and_unnamed(tmp_path):
    path = str(tmp_path / "s")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.bind(path)
        assert address_from_sockaddr("TCP", socket.AF_UNIX, s.getsockname()) == UNIXAddress(path)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        assert address_from_sockaddr("TCP", socket.AF_UNIX, s.getsockname()) == UNIXAddress("")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="abstract names are Linux-only")
def test_from_unix_abstract_name():
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.bind(b"\0reactorsock-test-address")
        addr = address_from_sockaddr("TCP", socket.AF_UNIX, s.getsockname())
    assert addr == UNIXAddress(b"\0reactorsock-test-address")


def test_unknown_family_raises():
    with pytest.raises(ValueError):
        address_from_sockaddr("TCP", -1, ("x", 1))
