"""photoindex: search a photo library the moment files land."""
