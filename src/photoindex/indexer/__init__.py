"""The indexing stages: discovery, hashing, decoding, models, store, and the pipeline joining them."""

import os

# torch's OpenMP runtime (libgomp) reads this once, when torch loads; every module
# here that imports torch is below this package, so this runs first. By default a
# thread that finishes its share of an operator spins for milliseconds waiting for
# the others. On a CPU whose cores the decode processes share, those spins take
# the cores from the decoders (measured on 2 idle cores with bench/ingest.py: 10.4
# photos/s and 187 ms of CPU per photo, against 12.0 and 162 ms with passive waits,
# and worse again when other processes share the cores). PASSIVE puts a waiting
# thread to sleep at once; CLIP alone runs as fast (22 images/s either way). An
# explicit OMP_WAIT_POLICY in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
