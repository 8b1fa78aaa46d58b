"""How alike supporters' own paragraphs are: normalised text, whether a paragraph is the
writer's own, and keyed MinHash band keys that let near-identical paragraphs be counted.

Near-identical paragraphs are found by MinHash over word shingles, banded for locality-
sensitive hashing (Broder 1997; Leskovec, Rajaraman, Ullman, "Mining of Massive Datasets",
ch. 3): two paragraphs whose shingle sets have Jaccard similarity s share at least one band
with probability 1 - (1 - s^r)^b. Each band key is then a counter in Redis per office
(delivery.alike), so a letter costs a few hashes and one pipelined round trip whatever the
number of letters before it; nothing is compared pairwise.

Written here rather than taken from datasketch or rapidfuzz, because this is clearly better:
- rapidfuzz compares two strings: asking "how many of the last 100,000 letters to this office
  are like this one" means 100,000 comparisons a letter, far over the 1 ms goal;
- datasketch's MinHash needs numpy and scipy (tens of MB in the image) for what is here about
  thirty lines, and its MinHashLSH index keeps every letter's key in each bucket (memory that
  grows with the letters, in one process or in Redis sets), where we need only counts;
- the hashes must be keyed: a band key is a function of the paragraph, and with a public hash
  anyone holding a Redis dump could test guessed paragraphs against it. Here every shingle is
  hashed with BLAKE2b keyed by a key derived from the instance's lookup key (crypto.py), so
  the counters reveal nothing without it, and they expire with their window anyway.
BLAKE2b gives 64 bytes a call: 32 independent 16-bit hash functions (16 bits are plenty: two
different shingle sets agree on a minimum by chance once in 65,536), so NUM_HASHES minima
cost NUM_HASHES / 32 hash calls a shingle (bench/similarity.py measures it).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import struct
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

NUM_HASHES = 64  # two BLAKE2b digests a shingle
SHINGLE_WORDS = 3  # word 3-grams: a changed word changes three shingles of a paragraph
# A paragraph that is not the writer's own (none, or a suggestion unchanged) is the form
# letter: one key, alike with every other such letter to the office.
FORM_KEY = "form"
# Paragraphs as alike as the campaign's threshold share a band at least this often.
RECALL = 0.9
_PER_DIGEST = 32
_UNPACK = struct.Struct("<32H").unpack
_NOT_WORD = re.compile(r"[\W_]+")


def normalise(text: str) -> str:
    """The words of a paragraph as compared: case, accents' composition, punctuation and
    spacing set aside ("Free Azat!" and "free  azat" are one paragraph)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_NOT_WORD.sub(" ", folded).split())


def ideas(suggested_note: str) -> list[str]:
    """The organizers' ideas for a supporter's paragraph: a letter's suggested paragraph holds
    them separated by blank lines, each offered on its own (public.letter_form.suggestions)."""
    return [" ".join(idea.split()) for idea in re.split(r"\n\s*\n", suggested_note)
            if idea.strip()]


def personalised(note: str, suggestions: Iterable[str]) -> bool:
    """Whether the paragraph is the writer's own: not empty, and not a suggestion unchanged
    (suggestions are ideas, never one's own words as they stand)."""
    own = normalise(note)
    return bool(own) and all(own != normalise(s) for s in suggestions if s)


def shingles(words: str) -> set[bytes]:
    """Word 3-grams of a normalised paragraph (the whole of one shorter than that)."""
    parts = words.split()
    if len(parts) <= SHINGLE_WORDS:
        return {words.encode()} if words else set()
    return {
        " ".join(parts[i : i + SHINGLE_WORDS]).encode()
        for i in range(len(parts) - SHINGLE_WORDS + 1)
    }


def signature(words: str, key: bytes) -> list[int]:
    """The NUM_HASHES minima of keyed 16-bit hashes over the paragraph's shingles (its MinHash)."""
    keyed = [
        hashlib.blake2b(key=key, salt=bytes([n]) * 16) for n in range(NUM_HASHES // _PER_DIGEST)
    ]
    rows = []
    for shingle in shingles(words):
        values: tuple[int, ...] = ()
        for base in keyed:
            h = base.copy()  # keyed once a paragraph, not once a shingle
            h.update(shingle)
            values += _UNPACK(h.digest())
        rows.append(values)
    if not rows:
        return [0xFFFF] * NUM_HASHES
    return list(map(min, zip(*rows, strict=True)))  # each hash function's minimum


@dataclass(frozen=True)
class Banding:
    """`bands` bands of `rows` minima each: paragraphs at least about `threshold` alike
    share a band (and are counted together) with high probability."""

    bands: int
    rows: int


@functools.lru_cache(maxsize=32)
def banding(threshold: float) -> Banding:
    """The longest bands (fewest chance matches among paragraphs less alike) that still
    count two paragraphs `threshold` alike together with probability RECALL: at 0.8, ten
    bands of six (0.95 at 0.8, 0.15 at 0.5, under 0.01 at 0.3)."""
    for rows in range(NUM_HASHES, 0, -1):
        bands = NUM_HASHES // rows
        if 1 - (1 - threshold**rows) ** bands >= RECALL:
            return Banding(bands, rows)
    return Banding(NUM_HASHES, 1)


def band_keys(note: str, own: bool, key: bytes, threshold: float) -> list[str]:
    """What a paragraph is counted under: its band keys (hex, keyed), or FORM_KEY when it
    is not the writer's own. The text cannot be read back from them."""
    words = normalise(note)
    if not own or not words:
        return [FORM_KEY]
    mins = signature(words, key)
    shape = banding(threshold)
    keys = []
    for band in range(shape.bands):
        chunk = mins[band * shape.rows : (band + 1) * shape.rows]
        packed = struct.pack(f"<{len(chunk) + 1}H", band, *chunk)
        keys.append(hashlib.blake2b(packed, digest_size=8).hexdigest())
    return keys


def shingle_key(lookup_key: bytes) -> bytes:
    """The shingles' hash key, derived from the instance's lookup key (never stored)."""
    return hmac.new(lookup_key, b"advocacy paragraph shingles", hashlib.sha256).digest()
