"""Opaque references to people, for URLs and forms that other organisations see.

An employer reviews candidates blind, per job order (DESIGN §7): nothing it can read or
type may let it follow one person from one job order to another, nor walk through the
registry. A candidate's URL therefore carries ``candidate_ref(job_id, trainee_id)``, never
the trainee's database id:

- a keyed pseudo-random permutation of the 64-bit id (a four-round Feistel network whose
  round function is HMAC-SHA256 under a key derived from ``SECRET_KEY``, tweaked by the job
  order's id), written as 13 base32 characters: without the key it reveals nothing of the
  id, the same person has unrelated references on two job orders, and it is O(1) both ways
  (no table to look up, nothing to store);
- a forged or mistyped reference decodes to some 64-bit number that is almost never a real
  id, and even then only a candidate of that job order is found: the page answers 404.

The short ``C-XXXXXX`` code on the cards (``web.jobs.cards.candidate_code``) stays the label
people read and say aloud; this is the key machines use.
"""

import base64
import hashlib
import hmac
import re

from flask import current_app

_ROUNDS = 4  # Luby–Rackoff: four rounds make a strong pseudo-random permutation
_MASK32 = 0xFFFFFFFF
_REF = re.compile(r"[a-z2-7]{13}")
_MAX_TRAINEE_ID = 2**31


def _key() -> bytes:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, b"matching/candidate-ref/v1", hashlib.sha256).digest()


def _round(key: bytes, tweak: int, index: int, half: int) -> int:
    message = f"{tweak}:{index}:{half}".encode()
    return int.from_bytes(hmac.new(key, message, hashlib.sha256).digest()[:4], "big")


def _permute(value: int, tweak: int, *, inverse: bool = False) -> int:
    key = _key()
    left, right = value >> 32, value & _MASK32
    if not inverse:
        for index in range(_ROUNDS):
            left, right = right, left ^ _round(key, tweak, index, right)
    else:
        for index in reversed(range(_ROUNDS)):
            left, right = right ^ _round(key, tweak, index, left), left
    return (left << 32) | right


def candidate_ref(job_id: int, trainee_id: int) -> str:
    """The opaque reference of trainee ``trainee_id`` as a candidate of job order ``job_id``."""
    block = _permute(trainee_id, job_id).to_bytes(8, "big")
    return base64.b32encode(block).decode().rstrip("=").lower()


def trainee_id_from_ref(job_id: int, ref: str) -> int | None:
    """The trainee id behind ``ref`` on job order ``job_id``, or None for a malformed one."""
    if not isinstance(ref, str) or not _REF.fullmatch(ref):
        return None
    try:
        block = base64.b32decode(ref.upper() + "===")
    except ValueError:
        return None
    value = _permute(int.from_bytes(block, "big"), job_id, inverse=True)
    # Trainee ids are INTEGER keys (32-bit on PostgreSQL): anything above is a forgery, or
    # the reference of another job order, never a person (and never a query error).
    return value if 0 < value < _MAX_TRAINEE_ID else None
