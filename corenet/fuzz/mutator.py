"""A byte-level mutator in the manner of libFuzzer's: small edits stacked on a seed.

Deterministic for a given `random.Random`: the same seed reproduces the same run.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

# values that sit on length and type boundaries of the TLV/PER/ASCII formats we decode
INTERESTING_BYTES = (0x00, 0x01, 0x7F, 0x80, 0x81, 0xFE, 0xFF, 0x0D, 0x0A, 0x20, 0x22, 0x3A, 0x3B,
                     0x3C, 0x3E, 0x40, 0x2C, 0x5B, 0x7B)
INTERESTING_WORDS = (b"\x00\x00", b"\xff\xff", b"\x7f\xff", b"\x80\x00", b"\x00\x01",
                     b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff",
                     b"\r\n", b"\r\n\r\n", b"%00", b"0", b"-1", b"4294967296", b"99999999999")

MAX_SIZE = 8192


class Mutator:
    """`mutate(data, others)`: 1-8 stacked edits of `data`; `others` feed the splices."""

    def __init__(self, rng: random.Random, max_size: int = MAX_SIZE) -> None:
        self.rng = rng
        self.max_size = max_size
        self._ops: list[Callable[[bytearray, Sequence[bytes]], None]] = [
            self._flip_bit, self._set_byte, self._interesting_byte, self._interesting_word,
            self._add_to_byte, self._insert_random, self._delete_range, self._duplicate_range,
            self._truncate, self._splice, self._swap_ranges, self._repeat_byte,
        ]

    def mutate(self, data: bytes, others: Sequence[bytes] = ()) -> bytes:
        buf = bytearray(data)
        for _ in range(self.rng.randint(1, 8)):
            self.rng.choice(self._ops)(buf, others)
        return bytes(buf[: self.max_size])

    def random_bytes(self) -> bytes:
        return self.rng.randbytes(self.rng.randint(0, 256))

    def _pos(self, buf: bytearray, end: bool = False) -> int:
        return self.rng.randint(0, len(buf) if end else max(len(buf) - 1, 0))

    def _flip_bit(self, buf: bytearray, _: Sequence[bytes]) -> None:
        if buf:
            buf[self._pos(buf)] ^= 1 << self.rng.randint(0, 7)

    def _set_byte(self, buf: bytearray, _: Sequence[bytes]) -> None:
        if buf:
            buf[self._pos(buf)] = self.rng.randint(0, 255)

    def _interesting_byte(self, buf: bytearray, _: Sequence[bytes]) -> None:
        if buf:
            buf[self._pos(buf)] = self.rng.choice(INTERESTING_BYTES)

    def _interesting_word(self, buf: bytearray, _: Sequence[bytes]) -> None:
        word = self.rng.choice(INTERESTING_WORDS)
        pos = self._pos(buf, end=True)
        buf[pos:pos + len(word)] = word

    def _add_to_byte(self, buf: bytearray, _: Sequence[bytes]) -> None:
        if buf:
            pos = self._pos(buf)
            buf[pos] = (buf[pos] + self.rng.choice((-16, -2, -1, 1, 2, 16))) & 0xFF

    def _insert_random(self, buf: bytearray, _: Sequence[bytes]) -> None:
        pos = self._pos(buf, end=True)
        buf[pos:pos] = self.rng.randbytes(self.rng.randint(1, 16))

    def _delete_range(self, buf: bytearray, _: Sequence[bytes]) -> None:
        if buf:
            pos = self._pos(buf)
            del buf[pos:pos + self.rng.randint(1, 16)]

    def _duplicate_range(self, buf: bytearray, _: Sequence[bytes]) -> None:
        if buf:
            pos = self._pos(buf)
            chunk = buf[pos:pos + self.rng.randint(1, 64)]
            at = self._pos(buf, end=True)
            buf[at:at] = chunk * self.rng.choice((1, 1, 2, 16))

    def _truncate(self, buf: bytearray, _: Sequence[bytes]) -> None:
        del buf[self._pos(buf, end=True):]

    def _splice(self, buf: bytearray, others: Sequence[bytes]) -> None:
        if not others:
            return
        other = self.rng.choice(others)
        if not other:
            return
        start = self.rng.randint(0, len(other) - 1)
        chunk = other[start:start + self.rng.randint(1, 64)]
        pos = self._pos(buf, end=True)
        if self.rng.random() < 0.5:
            buf[pos:pos + len(chunk)] = chunk
        else:
            buf[pos:pos] = chunk

    def _swap_ranges(self, buf: bytearray, _: Sequence[bytes]) -> None:
        if len(buf) < 4:
            return
        n = self.rng.randint(1, max(1, len(buf) // 4))
        a, b = sorted(self.rng.sample(range(len(buf) - n + 1), 2)) if len(buf) - n >= 1 else (0, 0)
        if b - a >= n:
            buf[a:a + n], buf[b:b + n] = buf[b:b + n], buf[a:a + n]

    def _repeat_byte(self, buf: bytearray, _: Sequence[bytes]) -> None:
        pos = self._pos(buf, end=True)
        value = buf[pos - 1] if pos and self.rng.random() < 0.5 else self.rng.choice(INTERESTING_BYTES)
        buf[pos:pos] = bytes([value]) * self.rng.choice((8, 64, 512))
