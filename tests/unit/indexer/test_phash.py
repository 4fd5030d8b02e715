"""The perceptual hash is stable under re-encoding and resizing, and tells different photos apart."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from tests.fixtures.images import photo_image

from photoindex.indexer.decoding.phash import hamming, hash_gray32, perceptual_hash


def reencoded(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue()))


def test_format_is_sixteen_hex_digits_and_deterministic() -> None:
    image = photo_image((400, 300), seed=1)
    value = perceptual_hash(image)
    assert len(value) == 16 and int(value, 16) >= 0
    assert perceptual_hash(image) == value
    assert perceptual_hash(image.convert("L")) == value


def test_near_duplicates_hash_close() -> None:
    image = photo_image((800, 600), seed=2)
    base = perceptual_hash(image)
    assert hamming(base, perceptual_hash(image.resize((200, 150)))) <= 4
    assert hamming(base, perceptual_hash(reencoded(image, 40))) <= 4
    brighter = Image.fromarray(np.clip(np.asarray(image, np.int16) + 12, 0, 255).astype(np.uint8))
    assert hamming(base, perceptual_hash(brighter)) <= 6


def test_different_photos_hash_far_apart() -> None:
    hashes = [perceptual_hash(photo_image((320, 240), seed=s)) for s in range(8)]
    distances = [hamming(a, b) for i, a in enumerate(hashes) for b in hashes[i + 1 :]]
    assert min(distances) >= 12


def test_dct_of_a_flat_image_sets_no_bits_but_the_dc() -> None:
    # Only the DC coefficient exceeds the median of an otherwise-zero spectrum.
    assert hash_gray32(np.full((32, 32), 100.0)) == "8000000000000000"


def test_hamming() -> None:
    assert hamming("0000000000000000", "ffffffffffffffff") == 64
    assert hamming("8000000000000001", "0000000000000000") == 2
    with pytest.raises(ValueError, match="length"):
        hamming("ff", "fff")
