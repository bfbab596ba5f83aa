"""Client secrets encrypted at rest, with a key kept beside the database.

The Credentials API must return a Client's secrets (CDS-WG1-02 §7), so they cannot be
hashed like tokens; they are encrypted with AES-256-GCM instead, bound to their credential
id (a ciphertext copied onto another credential does not decrypt). The key lives in
``<database>.key``, created with mode 0600 on first start: a copy of the database alone
reveals no secret. The same key, through a derived sub-key, signs the consent page's CSRF
tokens, so several worker processes on one database agree on them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "enc:v1:"


class Vault:
    """Seals and opens secrets with one 256-bit key."""

    def __init__(self, key: bytes):
        if len(key) != 32:
            raise ValueError("the vault key must be 32 bytes")
        self._key = key

    @classmethod
    def beside(cls, db_path: str | Path) -> Vault:
        """The vault of the database at ``db_path``: its key file ``<db_path>.key``, created
        (readable by the owner only) when missing; an in-memory database gets a fresh key."""
        if str(db_path) == ":memory:":
            return cls(secrets.token_bytes(32))
        path = Path(f"{db_path}.key")
        if not path.exists():
            # written whole under a temporary name, then linked into place: several worker
            # processes starting at once all end up reading the one complete key
            key = secrets.token_bytes(32)
            temporary = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(key.hex() + "\n")
            try:
                os.link(temporary, path)
            except FileExistsError:
                pass
            finally:
                temporary.unlink()
        try:
            return cls(bytes.fromhex(path.read_text(encoding="ascii").strip()))
        except (ValueError, UnicodeDecodeError):
            raise ValueError(f"{path}: not a key file (64 hexadecimal digits)") from None

    def seal(self, secret: str, bound_to: str) -> str:
        """``secret`` encrypted, usable only with the same ``bound_to``."""
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(self._key).encrypt(nonce, secret.encode(), bound_to.encode())
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, sealed: str, bound_to: str) -> str:
        """The secret ``seal`` encrypted; ``ValueError`` when it was not sealed with this key
        for ``bound_to``."""
        if not sealed.startswith(PREFIX):
            raise ValueError("not a sealed secret")
        raw = base64.urlsafe_b64decode(sealed[len(PREFIX) :])
        try:
            return AESGCM(self._key).decrypt(raw[:12], raw[12:], bound_to.encode()).decode()
        except InvalidTag:
            raise ValueError("the sealed secret does not open with this key") from None

    @staticmethod
    def is_sealed(value: str) -> bool:
        return value.startswith(PREFIX)

    def sign(self, purpose: str, *parts: str) -> str:
        """A MAC over ``parts`` with a sub-key for ``purpose`` (e.g. CSRF tokens)."""
        subkey = hmac.new(self._key, purpose.encode(), hashlib.sha256).digest()
        message = "\x1f".join(parts).encode()
        return hmac.new(subkey, message, hashlib.sha256).hexdigest()
