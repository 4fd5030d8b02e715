"""How torch's OpenMP threads wait: set where models are about to load, never at import time."""

import os


def prefer_passive_waits() -> None:
    """Make OpenMP threads sleep at once when they run out of work, unless the environment says otherwise.

    torch's OpenMP runtime (libgomp) reads ``OMP_WAIT_POLICY`` once, when torch
    loads, so this runs before the first torch import of a process, or before a
    model child process is spawned (it inherits the environment). By default a
    thread that finishes its share of an operator spins for milliseconds waiting
    for the others. On a CPU whose cores the decode processes share, those spins
    take the cores from the decoders (measured on 2 idle cores with
    bench/ingest.py: 10.4 photos/s and 187 ms of CPU per photo, against 12.0 and
    162 ms with passive waits, and worse again when other processes share the
    cores). CLIP alone runs as fast (22 images/s either way).
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
