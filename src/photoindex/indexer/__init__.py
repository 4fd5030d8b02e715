"""The indexing stages: discovery, hashing, decoding, models, store, and the pipeline joining them."""

import os

# torch's OpenMP runtime (libgomp) reads this once, when torch loads; every module
# here that imports torch is below this package, so this runs first. By default a
# thread that finishes its share of an operator spins for milliseconds waiting for
# the others. On a CPU whose cores the decode processes share, those spins take
# the cores from the decoders (measured on 2 cores: 220-230 ms of CPU per indexed
# photo instead of ~160). PASSIVE puts a waiting thread to sleep at once; inference
# alone is as fast. An explicit OMP_WAIT_POLICY in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
