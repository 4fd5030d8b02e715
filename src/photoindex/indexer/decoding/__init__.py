"""Reading a photo: its format, pixels, metadata, thumbnails, hashes and the place it was taken."""
