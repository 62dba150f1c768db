"""DTL functions of ``dtl-functions-encryption.rst``.

``encrypt``/``decrypt`` use Fernet with the KEY as a password (l.132-133); ``encrypt-pki``/
``decrypt-pki`` use RSA with a PEM key (l.76-117, l.184-220). The reference does not say how the
password becomes a Fernet key, how a value is serialised before ``encrypt`` nor which RSA padding
is used, so ciphertext made here cannot be read by a node, nor the reverse: the simulator promises
round trips only (``decrypt`` of its own ``encrypt`` under the same key), and a test compares a
node's ciphertext as opaque. The choices, written down in docs/simulate-dtl.md: the Fernet key is
SHA-256 of the password; ``encrypt`` encrypts the canonical transit JSON of VALUES as one bytes
value (the example encrypts a list and gets "an encrypted bytes object" back, l.140); RSA uses OAEP
with SHA-256.

A KEY written ``$SECRET(name)`` is looked up in the secrets the caller gave the Transform; a
missing one fails the pipe by name, and no key or secret value is ever put in a message.

OpenPGP (``encrypt-pgp``/``decrypt-pgp``) needs an OpenPGP implementation the project does not
depend on; both fail the pipe by name.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re

from generator.simulate.dtl.core import DTLError, first, function, is_plain_str, not_simulated, single_or_list
from generator.simulate.values import decode, dumps

_SECRET_RE = re.compile(r"\$SECRET\(([^)]*)\)")


def _key(e, ctx, arg, name: str) -> str:
    key = first(e.ev(arg, ctx))
    if not is_plain_str(key):
        raise DTLError(f"{name}: the key must be a string")

    def secret(m: re.Match) -> str:
        value = (e.secrets or {}).get(m.group(1))
        if value is None:
            raise DTLError(f"{name}: secret {m.group(1)!r} is not given")
        return value
    return _SECRET_RE.sub(secret, key)


def _fernet(key: str):
    from cryptography.fernet import Fernet  # imported on first use: most pipes never encrypt
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode("utf-8")).digest()))


@function("encrypt")
def f_encrypt(e, ctx, args):
    fernet = _fernet(_key(e, ctx, args[0], "encrypt"))
    return fernet.encrypt(dumps(e.ev(args[1], ctx)).encode("utf-8"))


@function("decrypt")
def f_decrypt(e, ctx, args):
    from cryptography.fernet import InvalidToken
    fernet = _fernet(_key(e, ctx, args[0], "decrypt"))

    def one(token):
        if not isinstance(token, (bytes, bytearray)):
            raise DTLError("decrypt: VALUES must be what encrypt returned (bytes)")
        try:
            return decode(json.loads(fernet.decrypt(bytes(token))))
        except InvalidToken:
            raise DTLError("decrypt: the key does not match the encrypted value") from None
    v = e.ev(args[1], ctx)
    return None if v is None else one(v) if not isinstance(v, list) else [one(x) for x in v if x is not None]


def _pem(name: str, key: str, private: bool):
    from cryptography.hazmat.primitives import serialization
    try:
        if private:
            return serialization.load_pem_private_key(key.encode("utf-8"), password=None)
        return serialization.load_pem_public_key(key.encode("utf-8"))
    except (ValueError, TypeError):
        kind = "private" if private else "public"
        raise DTLError(f"{name}: the key is not an RSA {kind} key in PEM format") from None


def _oaep():
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    return padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


@function("encrypt-pki")
def f_encrypt_pki(e, ctx, args):
    """The strings in VALUES, each to one bytes value (l.184-220); other values fail the pipe."""
    public = _pem("encrypt-pki", _key(e, ctx, args[0], "encrypt-pki"), private=False)

    def one(text):
        if not is_plain_str(text):
            raise DTLError("encrypt-pki: VALUES must be strings (serialise others with json first)")
        try:
            return public.encrypt(text.encode("utf-8"), _oaep())
        except ValueError:
            raise DTLError("encrypt-pki: the string is too long for the key") from None
    return single_or_list(one, e.ev(args[1], ctx))


@function("decrypt-pki")
def f_decrypt_pki(e, ctx, args):
    """The bytes values in VALUES, each back to its string (l.76-117)."""
    private = _pem("decrypt-pki", _key(e, ctx, args[0], "decrypt-pki"), private=True)

    def one(data):
        if not isinstance(data, (bytes, bytearray)):
            raise DTLError("decrypt-pki: VALUES must be bytes")
        try:
            return private.decrypt(bytes(data), _oaep()).decode("utf-8")
        except ValueError:
            raise DTLError("decrypt-pki: the key does not match the encrypted value") from None
    return single_or_list(one, e.ev(args[1], ctx))


not_simulated("encrypt-pgp", "OpenPGP is not simulated")
not_simulated("decrypt-pgp", "OpenPGP is not simulated")
