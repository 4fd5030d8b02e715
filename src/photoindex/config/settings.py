"""Typed, frozen settings: one struct per TOML section.

Every field has a default, so an empty file (or none) is a valid
configuration. Validation happens in ``loading.py``; this module only says
what the settings are.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

CaptionMode = Literal["off", "inline", "deferred"]
# Which runtime computes CLIP: "auto" = torch, or ONNX Runtime for int8 (the rule: indexer/models/backends.py).
Backend = Literal["auto", "torch", "onnx"]
# "int8": CLIP's image tower (in ONNX Runtime) and BLIP's Linear layers with int8 weights; its own collection.
Quantize = Literal["none", "int8"]

# Images with more pixels are rejected as decompression bombs (model.max_pixels; the decoder's default too).
DEFAULT_MAX_PIXELS = 250_000_000


class WatchSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Which folders hold the library and which files in them count."""

    folders: tuple[str, ...] = ()
    include: tuple[str, ...] = ()  # glob patterns on the file name; empty = every image
    exclude: tuple[str, ...] = ()  # glob patterns on the file name or any folder name
    follow_symlinks: bool = False  # even when True, never out of a root
    settle_s: float = 1.0  # a file written without a close seen is taken once it stood still this long
    network_settle_s: float = 10.0  # the same on network filesystems (nfs, cifs, fuse), judged by mtime age
    max_delay_s: float = 10.0  # a file rewritten again and again is still indexed this often (10x while open)
    max_pending: int = 10_000  # more changed paths than this collapse into folder rescans
    rescan_interval_s: float = 3600.0  # full reconcile scan of watched roots (+-10% jitter); 0 = only at start
    network_rescan_interval_s: float = 300.0  # the same for network roots, which are not watched


class ModelSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Which models embed and caption photos, and on what device."""

    clip: str = "ViT-B-32"  # an open_clip name, "local-dir:/path", or a model-config JSON file
    pretrained: str = "laion2b_s34b_b79k"  # open_clip pretrained tag, used when weights is unset
    weights: str | None = None  # None = pretrained tag from the hub; a weights file; or "random"
    caption_model: str = "Salesforce/blip-image-captioning-base"  # hub name or local directory
    captions: CaptionMode = "deferred"
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    batch_size: int = 0  # 0 = 16 on a CPU, probed from free memory on CUDA
    max_wait_ms: int = 50  # a partial batch waits at most this long for company
    decode_workers: int = 0  # 0 = one per CPU core
    decode_timeout_s: float = 60.0  # a decode running longer is killed and its worker replaced
    max_pixels: int = DEFAULT_MAX_PIXELS
    idle_unload_s: float = 300.0  # the daemon unloads the models after this long without work; 0 = never
    backend: Backend = "auto"  # the runtime CLIP runs in; fp32 ONNX and torch share a collection
    quantize: Quantize = "none"  # int8 weights: faster on a CPU, not the same vectors (another collection)
    onnx_threads: int = 0  # ONNX Runtime's intra-op threads; 0 = one per core (measured: README)


class StoreSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Where the index lives: an embedded store (path) or a Qdrant server (url)."""

    path: str | None = None  # None = "<data dir>/store"
    url: str | None = None  # a Qdrant server or cluster; overrides path
    api_key: str | None = None
    shard_number: int | None = None
    replication_factor: int | None = None
    on_disk: bool = False
    quantization: Literal["scalar"] | None = None
    # Free space kept on the data, cache and state folders; below it the daemon stops writing (read-only).
    # 64 MB: qdrant-edge's files grow in 32 MiB units (WAL segments, vector chunks, payload pages: the
    # sizes of the files of a fresh store), and one batch can start one of them; the rest is margin.
    min_free_mb: Annotated[int, msgspec.Meta(ge=0)] = 64
    # The embedded store's vector index (HNSW graph, int8 quantized vectors rescored with the float ones),
    # rebuilt in a child process when this many vectors were written since the last build, or this
    # fraction of the indexed ones if more; new points are searched in full until then. 20k: a full scan
    # of 20k vectors of dim 512 takes about 2 ms on 2 cores (bench/index_build.py), and a build of 100k
    # takes minutes of a low-priority core, so fewer new points are not worth a build.
    index_min_new: Annotated[int, msgspec.Meta(ge=1)] = 20_000
    index_new_fraction: Annotated[float, msgspec.Meta(ge=0.0)] = 0.1
    index_after_idle_s: Annotated[float, msgspec.Meta(ge=0.0)] = 60.0  # quiet this long before a build starts
    index_build: bool = True  # False: never build (every search is a full scan)


class ApiSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The localhost query API."""

    host: str = "127.0.0.1"  # a non-loopback address needs an API key
    port: int = 8765
    api_key: str | None = None  # required on every route but /health when set
    api_key_file: str | None = None  # a file holding the key (query_api.generate_api_key writes one, mode 0600)
    allowed_hosts: tuple[str, ...] = ()  # Host header names accepted besides loopback and the bound address
    allowed_origins: tuple[str, ...] = ()  # other web origins ("http://localhost:3000") whose pages may write
    inbox: str | None = None  # where uploads land; None = "<data dir>/inbox" (watched like a library folder)
    browse_roots: tuple[str, ...] = ()  # folders /fs/browse may list; empty = the user's home
    max_upload_mb: Annotated[int, msgspec.Meta(ge=1)] = 1024  # one ingest upload request, all files together
    max_query_image_mb: Annotated[int, msgspec.Meta(ge=1)] = 50  # an image sent to search by


class CacheSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The thumbnail cache."""

    # Thumbnails beyond this are evicted, least recently served first. A 200 px JPEG averages 4.4 KB
    # (120 corpus photos, p90 9.7 KB), so 1 GB holds ~230k photos' thumbnails; others are rebuilt when asked.
    # The API's 400 px thumbnails and 1600 px display renditions share this limit and the eviction order.
    max_mb: Annotated[int, msgspec.Meta(ge=1)] = 1024


class PathSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Overrides for the platform's data, cache and state folders."""

    data_dir: str | None = None
    cache_dir: str | None = None
    state_dir: str | None = None


class Settings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The whole configuration."""

    watch: WatchSettings = WatchSettings()
    model: ModelSettings = ModelSettings()
    store: StoreSettings = StoreSettings()
    api: ApiSettings = ApiSettings()
    cache: CacheSettings = CacheSettings()
    paths: PathSettings = PathSettings()


SECTIONS: dict[str, type[msgspec.Struct]] = {
    "watch": WatchSettings,
    "model": ModelSettings,
    "store": StoreSettings,
    "api": ApiSettings,
    "cache": CacheSettings,
    "paths": PathSettings,
}
