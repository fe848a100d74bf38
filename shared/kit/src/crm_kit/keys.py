"""The public keys that verify tokens, as a set that can change while services run.

Every key has a `kid`: its RFC 7638 JWK thumbprint, so nobody assigns ids and the
gateway and every service agree on them. The gateway signs with one private key and
puts its `kid` in each token's header; a service verifies with the set of public keys
it is given (`JWT_PUBLIC_KEY`, or the file `JWT_PUBLIC_KEY_FILE`: one or more PEM
blocks, one after the other). Rotating the signing key without downtime:

1. add the new public key to the set every service reads (a mounted file is re-read
   when it changes, at most every `KeySet.RECHECK_S`; a token signed with a kid the set
   does not know makes it look at once);
2. give the gateway the new private key (its tokens carry the new kid; the old ones
   still verify with the old public key, still in the set);
3. once the old tokens have expired (`TOKEN_TTL_S`), take the old public key out.

The gateway publishes the set as a JWKS at `/.well-known/jwks.json` for other systems.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

_PEM_BLOCK = re.compile(r"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.DOTALL)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def kid_of(key: Ed25519PublicKey) -> str:
    """The key's id: its JWK thumbprint (RFC 7638: SHA-256 over the required members)."""
    members = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": _b64url(_raw(key))}, separators=(",", ":"))
    return _b64url(hashlib.sha256(members.encode()).digest())


def kid_of_private(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("JWT_PRIVATE_KEY must be an Ed25519 key")
    return kid_of(key.public_key())


def parse_public_keys(text: str) -> dict[str, Ed25519PublicKey]:
    """The Ed25519 keys of a PEM bundle by kid; ValueError when it holds none or another kind."""
    keys: dict[str, Ed25519PublicKey] = {}
    for block in _PEM_BLOCK.findall(text):
        key = serialization.load_pem_public_key(block.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("a JWT public key is not an Ed25519 key")
        keys[kid_of(key)] = key
    if not keys:
        raise ValueError("no public key in the JWT key set (expected PEM blocks)")
    return keys


def jwks(keys: dict[str, Ed25519PublicKey]) -> dict[str, Any]:
    """The set as a JSON Web Key Set (RFC 7517), for `/.well-known/jwks.json`."""
    return {
        "keys": [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": _b64url(_raw(key)),
                "kid": kid,
                "use": "sig",
                "alg": "EdDSA",
            }
            for kid, key in keys.items()
        ]
    }


class KeySet:
    """The verifying keys, from a PEM text or a file that is re-read when it changes."""

    #: How often the file's modification time is looked at while tokens are verified.
    RECHECK_S = 30.0
    #: At least this long between two reads forced by an unknown kid (a flood of forged
    #: kids must not turn into a flood of file reads).
    FORCED_MIN_S = 5.0

    def __init__(
        self, text: str = "", *, path: Path | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not text and path is None:
            raise ValueError("no JWT public key configured (JWT_PUBLIC_KEY or JWT_PUBLIC_KEY_FILE)")
        self.path = path if not text else None
        self._clock = clock
        self._lock = threading.Lock()
        self._stamp: float | None = None
        self._checked = self._forced = clock()
        self.by_kid = parse_public_keys(text) if text else self._read()

    def _read(self) -> dict[str, Ed25519PublicKey]:
        assert self.path is not None
        stamp = self.path.stat().st_mtime
        keys = parse_public_keys(self.path.read_text())
        self._stamp = stamp
        return keys

    def get(self, kid: str | None) -> list[Ed25519PublicKey]:
        """The keys a token with this kid may be signed with: the one key, or none; every
        key for a token without a kid (issued before kids were)."""
        self._refresh(forced=kid is not None and kid not in self.by_kid)
        if kid is None:
            return list(self.by_kid.values())
        key = self.by_kid.get(kid)
        return [key] if key is not None else []

    def current(self) -> dict[str, Ed25519PublicKey]:
        """The keys by kid, the file looked at first if it is due."""
        self._refresh(forced=False)
        return self.by_kid

    def _refresh(self, *, forced: bool) -> None:
        if self.path is None:
            return
        now = self._clock()
        due = now - self._checked >= self.RECHECK_S or (forced and now - self._forced >= self.FORCED_MIN_S)
        if not due:
            return
        with self._lock:
            self._checked = now
            if forced:
                self._forced = now
            try:
                if self.path.stat().st_mtime != self._stamp:
                    self.by_kid = self._read()
            except (OSError, ValueError):
                # A file being rewritten, or broken: keep the keys that worked.
                return
