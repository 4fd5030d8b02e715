"""The indexing stages: discovery, decoding, models, store, and the pipeline joining them."""
