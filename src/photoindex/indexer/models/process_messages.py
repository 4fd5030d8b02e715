"""What the daemon and its model process say to each other: tagged msgspec messages over a pipe.

Each request and reply is a tagged ``msgspec.Struct`` (the tag names the
operation), so one MessagePack decoder reads any of them back as its own type. Pixels and
vectors travel as ``Array`` (raw bytes, shape, dtype): a batch of 16 images
at 224 px is 2.4 MB, about a millisecond each way. A failure in the child is
a ``Failed`` reply, which the parent raises as ``ModelError``.
"""

from __future__ import annotations

import msgspec
import numpy as np


class Array(msgspec.Struct, frozen=True):
    """A numpy array as bytes, shape and dtype."""

    data: bytes
    shape: tuple[int, ...]
    dtype: str

    @classmethod
    def of(cls, array: np.ndarray) -> Array:
        contiguous = np.ascontiguousarray(array)
        return cls(contiguous.tobytes(), tuple(contiguous.shape), contiguous.dtype.str)

    def to_numpy(self) -> np.ndarray:
        return np.frombuffer(self.data, dtype=np.dtype(self.dtype)).reshape(self.shape).copy()


# -- requests (parent → child) ----------------------------------------------------
class LoadEmbedder(msgspec.Struct, tag="load_embedder", frozen=True):
    pass


class LoadCaptioner(msgspec.Struct, tag="load_captioner", frozen=True):
    pass


class EmbedImages(msgspec.Struct, tag="embed_images", frozen=True):
    pixels: Array
    low_priority: bool = False  # sent from the indexing thread: the child computes it at low priority too


class EmbedTexts(msgspec.Struct, tag="embed_texts", frozen=True):
    texts: list[str]
    low_priority: bool = False


class Caption(msgspec.Struct, tag="caption", frozen=True):
    pixels: Array
    low_priority: bool = False


class Stop(msgspec.Struct, tag="stop", frozen=True):
    pass


Load = LoadEmbedder | LoadCaptioner
Compute = EmbedImages | EmbedTexts | Caption
Request = LoadEmbedder | LoadCaptioner | EmbedImages | EmbedTexts | Caption | Stop


# -- replies (child → parent) -----------------------------------------------------
class EmbedderLoaded(msgspec.Struct, tag="embedder_loaded", frozen=True):
    model_id: str
    dim: int
    input_size: int
    random_weights: bool
    batch_size: int


class CaptionerLoaded(msgspec.Struct, tag="captioner_loaded", frozen=True):
    model_id: str
    input_size: int
    random_weights: bool


class Vectors(msgspec.Struct, tag="vectors", frozen=True):
    vectors: Array


class Captions(msgspec.Struct, tag="captions", frozen=True):
    captions: list[str]


class Failed(msgspec.Struct, tag="failed", frozen=True):
    """The call failed in the child; ``code`` is an ``ErrorCode`` value."""

    code: str
    message: str


Reply = EmbedderLoaded | CaptionerLoaded | Vectors | Captions | Failed

_encoder = msgspec.msgpack.Encoder()
_requests = msgspec.msgpack.Decoder(Request)
_replies = msgspec.msgpack.Decoder(Reply)


def name_of(message: Request | Reply) -> str:
    """The message's tag: what the logs and errors call the operation."""
    return str(type(message).__struct_config__.tag)


def encode(message: Request | Reply) -> bytes:
    return _encoder.encode(message)


def decode_request(data: bytes) -> Request:
    return _requests.decode(data)


def decode_reply(data: bytes) -> Reply:
    return _replies.decode(data)


__all__ = [
    "Array",
    "Caption",
    "CaptionerLoaded",
    "Captions",
    "Compute",
    "EmbedImages",
    "EmbedTexts",
    "EmbedderLoaded",
    "Failed",
    "Load",
    "LoadCaptioner",
    "LoadEmbedder",
    "Reply",
    "Request",
    "Stop",
    "Vectors",
    "decode_reply",
    "decode_request",
    "encode",
    "name_of",
]
