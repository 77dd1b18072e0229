"""How much an upload may make the processing read: the defences against archive bombs."""

from __future__ import annotations

from dataclasses import dataclass

MIN_CLASSES = 2
MAX_CLASSES = 1000


@dataclass(frozen=True)
class Limits:
    """Bounds checked before (declared sizes) and while (bytes read) an archive is read."""

    max_members: int = 500_000  # files and folders in one archive (CIFAR-10 as images: 60,000)
    # One member's bytes: CIFAR-100's `train` pickle is 155 MB.
    max_member_bytes: int = 512 * (1 << 20)
    max_total_bytes: int = 8 * (1 << 30)  # all members' bytes together, uncompressed
    # Uncompressed / compressed size. A gzipped tar of tiny files reaches ~10 (512-byte headers
    # and padding), a zero-filled bomb ~1000; checked once `ratio_floor_bytes` are out.
    max_ratio: float = 100.0
    ratio_floor_bytes: int = 16 * (1 << 20)
    # Declared width x height of one image, refused before decoding (a decompression bomb
    # declares a huge size in a small file).
    max_image_pixels: int = 4096 * 4096
    max_images: int = 2_000_000  # training + test images after conversion (6 GiB as uint8)
