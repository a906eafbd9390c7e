"""Tests for ``_certs``: making, saving, loading and inspecting certificates."""

from __future__ import annotations

import datetime
import stat
import subprocess

import pytest

from reactorsock import tls
from reactorsock._certs import (
    CertificateAndKey,
    certificate_info,
    load_pem_certificate,
    load_pem_certificates,
    load_pem_private_key,
    make_ca,
    make_certificate,
    make_private_key,
    make_self_signed,
    save_pem,
    write_dev_certificates,
)


def test_leaf_has_sans_issuer_and_validity():
    ca = make_ca("Test CA")
    leaf = make_certificate(ca, ["localhost", "127.0.0.1", "::1", "bücher.example"], days=30)
    info = certificate_info(leaf.certificate)
    assert info.subject == "CN=localhost"
    assert info.issuer == "CN=Test CA"
    assert info.dns_names == ("localhost", "xn--bcher-kva.example")
    assert info.ip_addresses == ("127.0.0.1", "::1")
    assert not info.is_ca and not info.expired
    assert datetime.timedelta(days=29) < info.not_after - info.not_before
    assert info.not_after - info.not_before < datetime.timedelta(days=31)
    assert certificate_info(ca.certificate).is_ca


def test_expired_certificate():
    now = datetime.datetime.now(datetime.UTC)
    leaf = make_certificate(
        make_ca(), ["localhost"], not_before=now - datetime.timedelta(days=2),
        not_after=now - datetime.timedelta(days=1),
    )  # fmt: skip
    assert certificate_info(leaf.certificate).expired


def test_self_signed_is_its_own_issuer():
    pair = make_self_signed(["localhost"])
    assert pair.certificate.issuer == pair.certificate.subject
    assert certificate_info(pair.certificate).ip_addresses == ()


def test_save_and_load_round_trip(tmp_path):
    ca = make_ca()
    leaf = make_certificate(ca, ["localhost"])
    cert_path = save_pem(tmp_path / "chain.pem", leaf.certificate, ca.certificate)
    key_path = save_pem(tmp_path / "key.pem", leaf.private_key)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cert_path.stat().st_mode) == 0o644
    assert load_pem_certificates(cert_path) == [leaf.certificate, ca.certificate]
    assert load_pem_certificate(cert_path.read_bytes()) == leaf.certificate
    key = load_pem_private_key(key_path)
    assert key.public_key() == leaf.private_key.public_key()
    both = save_pem(tmp_path / "both.pem", leaf)
    assert stat.S_IMODE(both.stat().st_mode) == 0o600
    assert load_pem_certificate(both) == leaf.certificate
    assert load_pem_private_key(both).public_key() == leaf.private_key.public_key()
    with pytest.raises(ValueError, match="no PEM certificate"):
        load_pem_certificate(key_path)
    with pytest.raises(TypeError):
        save_pem(tmp_path / "x.pem", "not a certificate")


def test_rsa_keys_work_too():
    key = make_private_key("rsa")
    assert key.key_size == 2048
    with pytest.raises(ValueError, match="unknown key kind"):
        make_private_key("dsa")


def test_write_dev_certificates_verify_with_openssl(tmp_path):
    """What ``reactorsock cert`` writes is accepted by ``openssl verify``."""
    paths = write_dev_certificates(tmp_path / "out", hosts=("localhost", "127.0.0.1"))
    assert stat.S_IMODE(paths.private_key.stat().st_mode) == 0o600
    result = subprocess.run(
        ["openssl", "verify", "-CAfile", str(paths.ca_certificate), "-verify_hostname",
         "localhost", str(paths.certificate)],
        capture_output=True, timeout=10,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert b"OK" in result.stdout
    info = certificate_info(load_pem_certificate(paths.certificate))
    assert info.dns_names == ("localhost",) and info.ip_addresses == ("127.0.0.1",)
    with pytest.raises(ValueError):
        write_dev_certificates(tmp_path / "none", hosts=())


def test_tls_reexports_certificate_management():
    assert tls.make_ca is make_ca and tls.CertificateAndKey is CertificateAndKey
    assert tls.write_dev_certificates is write_dev_certificates
