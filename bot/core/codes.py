"""Invite codes people can read aloud over a phone call.

A code is 20 characters from an alphabet without look-alikes (no 0/O, 1/I/L, no
case), grouped in fours: `KX4M-9PQ7-...`. 20 symbols of 31 carry 99 bits, more than
the 96 random bits the codes had before. Typed back, case, spaces and dashes do
not matter: `kx4m 9pq7 …` is the same code.
"""

from __future__ import annotations

from collections.abc import Callable

#: 31 symbols: digits 2-9 and capitals without I, L, O.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 20
GROUP = 4


def make_code(randbelow: Callable[[int], int]) -> str:
    """A new code from a random source (`secrets.randbelow`), grouped for reading."""
    raw = "".join(ALPHABET[randbelow(len(ALPHABET))] for _ in range(LENGTH))
    return "-".join(raw[i : i + GROUP] for i in range(0, LENGTH, GROUP))


def normalize_code(text: str) -> str:
    """The code as stored: capitals, no spaces or dashes (an older code stays as typed)."""
    squeezed = "".join(text.split()).replace("-", "").upper()
    if len(squeezed) == LENGTH and all(ch in ALPHABET for ch in squeezed):
        return squeezed
    return text.strip()
