"""Workspace keys: 256 random bits from `secrets`, checked strictly before any lookup.

Whoever holds a key holds the workspace, so it is never sequential and never stored: the
database keeps its SHA-256 only (no salt needed: a 256-bit random key cannot be guessed from
its hash). A forged, garbled or 10,000-character key fails valid_key() and never reaches a
query; the caller treats it as unknown and makes a fresh workspace.
"""
import hashlib
import re
import secrets

KEY_BYTES = 32                                  # token_urlsafe(32): 43 characters, 256 bits
_FORMAT = re.compile(r"[A-Za-z0-9_-]{32,64}")  # what token_urlsafe writes; room for longer keys later


def new_key() -> str:
    return secrets.token_urlsafe(KEY_BYTES)


def valid_key(text) -> bool:
    """Whether `text` has a key's form (a str of 32..64 URL-safe base64 characters)."""
    return isinstance(text, str) and len(text) <= 64 and _FORMAT.fullmatch(text) is not None


def key_hash(key: str) -> str:
    """What the workspaces table stores for `key` (hex SHA-256)."""
    return hashlib.sha256(key.encode("ascii")).hexdigest()
