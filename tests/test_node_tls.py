"""TLS failures say what went wrong (K7): untrusted, wrong host name, unreadable CA bundle, not TLS at all."""

from __future__ import annotations

import datetime
import ssl

import pytest

from tests.support.fault_node import FaultNode
from tests.support.node_helpers import make_project, run, use_node

x509 = pytest.importorskip("cryptography.x509")
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

TOKEN = "eyJhbGciOiJIUzI1NiJ9.dGxzLXRlc3Rz.TLS-SIGNATURE-5555"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for ``localhost`` only (not for 127.0.0.1): (cert file, key file)."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@pytest.fixture
def tls_node(certificate, tmp_path, monkeypatch):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    with FaultNode(TOKEN, tls=context) as node:
        make_project(tmp_path)
        use_node(monkeypatch, node, tmp_path, jwt=TOKEN)
        yield node


def _plan(capsys, node, host, *extra):
    return run(capsys, "plan", "--retries", "0", "--node", f"https://{host}:{node.port}", *extra)


def test_a_trusted_certificate_works(tls_node, certificate, capsys):
    code, out, err = _plan(capsys, tls_node, "localhost", "--ca-bundle", str(certificate[0]))
    assert code == 2, err
    assert "Plan:" in out


def test_an_untrusted_certificate_says_so(tls_node, capsys):
    code, _, err = _plan(capsys, tls_node, "localhost")
    assert code == 1
    assert "certificate not trusted" in err and "--ca-bundle" in err


def test_a_certificate_for_another_name_says_hostname_mismatch(tls_node, certificate, capsys):
    code, _, err = _plan(capsys, tls_node, "127.0.0.1", "--ca-bundle", str(certificate[0]))
    assert code == 1
    assert "hostname mismatch" in err and "not trusted" not in err


def test_an_unreadable_ca_bundle_says_so(tls_node, capsys, tmp_path):
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("not a certificate\n")
    code, _, err = _plan(capsys, tls_node, "localhost", "--ca-bundle", str(bundle))
    assert code == 1
    assert "CA bundle could not be read" in err and "internal error" not in err


def test_https_to_a_plain_http_server_says_it_is_not_tls(tmp_path, monkeypatch, capsys):
    with FaultNode(TOKEN) as plain:
        make_project(tmp_path)
        use_node(monkeypatch, plain, tmp_path, jwt=TOKEN)
        code, _, err = run(capsys, "plan", "--retries", "0", "--node", f"https://127.0.0.1:{plain.port}")
    assert code == 1
    assert "did not answer in TLS" in err
