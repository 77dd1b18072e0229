"""Predictions from a job's ONNX export with onnxruntime, without torch or a GPU worker.

Images arrive as uploaded files (PNG, JPEG, WebP, any size) or as 32x32x3 uint8 arrays in
JSON. Files are decoded with Pillow, converted to RGB (an alpha channel is dropped, a palette
expanded) and resized as a whole to 32x32 with Pillow's bilinear filter, which widens with the
scale factor so that downscaling averages every source pixel (antialiased); the aspect ratio is
not kept and nothing is cropped; a large JPEG is decoded at 1/2 to 1/8 scale first. Pixels
are then scaled to [0, 1], the ONNX model's input.

The API process keeps the ONNX files (`ModelCache`, bounded by their bytes, least recently used
dropped first); decoding and inference run in the prediction pool's processes
(api/prediction/predict_pool.py), each with its own sessions (`SessionCache`, the same bound).
"""

from __future__ import annotations

import io
import threading
import uuid
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np
from PIL import Image, UnidentifiedImageError

from api.errors import ApiError, FieldError, invalid
from core.vocabulary import ErrorCode

if TYPE_CHECKING:
    import onnxruntime

FORMATS = {"PNG", "JPEG", "WEBP"}
SIDE = 32
K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class ModelFile:
    """A job's ONNX file as the API process keeps it: what a prediction sends to the pool."""

    data: bytes
    classes: list[str]
    sha256: str

    @property
    def size(self) -> int:
        return len(self.data)


class BytesLru(Generic[K, V]):
    """At most `max_bytes` of values in all, least recently used dropped first; a value larger
    than the whole bound is served but not kept."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        """Bytes of the values kept."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0]

    def put(self, key: K, value: V, size: int) -> V:
        if size > self.max_bytes:
            return value
        with self._lock:
            if key not in self._items:
                self._items[key] = (value, size)
                self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_dropped, dropped_size) = self._items.popitem(last=False)
                self._bytes -= dropped_size
        return value


class ModelCache(BytesLru[tuple[uuid.UUID, str], ModelFile]):
    """ONNX files by (job, file sha256), in the API process."""

    def get_file(self, job_id: uuid.UUID, sha256: str) -> ModelFile | None:
        return self.get((job_id, sha256))

    def load(self, job_id: uuid.UUID, data: bytes, classes: list[str], sha256: str) -> ModelFile:
        model = ModelFile(data=data, classes=classes, sha256=sha256)
        return self.put((job_id, sha256), model, model.size)


class SessionCache(BytesLru[str, "onnxruntime.InferenceSession"]):
    """onnxruntime sessions by the ONNX file's sha256, in the process that runs them."""

    def __init__(self, max_bytes: int, threads: int) -> None:
        super().__init__(max_bytes)
        self.threads = threads

    def session(self, model: ModelFile) -> onnxruntime.InferenceSession:
        found = self.get(model.sha256)
        if found is not None:
            return found
        import onnxruntime

        options = onnxruntime.SessionOptions()
        if self.threads:
            options.intra_op_num_threads = self.threads
        session = onnxruntime.InferenceSession(
            model.data, sess_options=options, providers=["CPUExecutionProvider"]
        )
        return self.put(model.sha256, session, model.size)


# --- input -------------------------------------------------------------------------------------


def decode_file(data: bytes, field: str, max_pixels: int) -> np.ndarray:
    """An uploaded file as uint8 32 x 32 x 3 RGB; a 422 naming `field` and the reason."""
    if not data:
        raise invalid([FieldError.body(field, "the file is empty")])
    try:
        with warnings.catch_warnings():
            # Pillow warns (and past twice its own limit raises) about huge images; the
            # declared size is checked against ours below, before anything is decoded.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:
        raise invalid(
            [FieldError.body(field, f"refused as a decompression bomb: {error}")]
        ) from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise invalid(
            [FieldError.body(field, "not an image (PNG, JPEG or WebP expected)")]
        ) from None
    with image:
        if image.format not in FORMATS:
            raise invalid(
                [
                    FieldError.body(
                        field, f"{image.format} images are not accepted; send PNG, JPEG or WebP"
                    )
                ]
            )
        width, height = image.size
        if width * height > max_pixels:
            raise invalid(
                [
                    FieldError.body(
                        field,
                        f"declares {width} x {height} = {width * height} pixels, over the limit "
                        f"of {max_pixels} (refused before decoding)",
                    )
                ]
            )
        try:
            if image.format == "JPEG":
                # Decode at 1/2 to 1/8 scale when the image is large (issue 17): the result is
                # resized to 32 x 32 anyway, and the DCT scaling is far cheaper.
                image.draft("RGB", (SIDE * 4, SIDE * 4))
            image.load()
            rgb = image.convert("RGB")
        except Image.DecompressionBombError as error:
            raise invalid(
                [FieldError.body(field, f"refused as a decompression bomb: {error}")]
            ) from None
        except (OSError, ValueError, SyntaxError) as error:
            reason = "truncated" if "truncated" in str(error) else f"cannot be decoded ({error})"
            raise invalid(
                [FieldError.body(field, f"the {image.format} file is {reason}")]
            ) from None
        if rgb.size != (SIDE, SIDE):
            rgb = rgb.resize((SIDE, SIDE), Image.Resampling.BILINEAR)
        return np.asarray(rgb, dtype=np.uint8)


def parse_arrays(images: Any, max_images: int) -> np.ndarray:
    """JSON `images`, a list of 32 x 32 x 3 arrays of integers in [0, 255], as uint8 NHWC."""
    if not isinstance(images, list) or not images:
        raise invalid(
            [FieldError.body("images", "a non-empty list of 32 x 32 x 3 arrays is required")]
        )
    if len(images) > max_images:
        raise invalid(
            [FieldError.body("images", f"{len(images)} images; at most {max_images} per request")]
        )
    try:  # the common case in one conversion; the loop below only to name the bad image
        whole = np.asarray(images)
    except ValueError:
        whole = np.asarray(None)
    if (
        whole.shape == (len(images), SIDE, SIDE, 3)
        and whole.dtype.kind in "iu"
        and whole.min() >= 0
        and whole.max() <= 255
    ):
        return whole.astype(np.uint8)
    out = np.empty((len(images), SIDE, SIDE, 3), dtype=np.uint8)
    for i, item in enumerate(images):
        field = f"images.{i}"
        try:
            array = np.asarray(item)
        except ValueError:
            array = np.asarray(None)  # ragged nesting
        if array.shape != (SIDE, SIDE, 3):
            shape = " x ".join(map(str, array.shape)) if array.dtype != object else "ragged"
            raise invalid(
                [
                    FieldError.body(
                        field,
                        f"must be 32 x 32 x 3 (height, width, RGB), got {shape or 'a scalar'}",
                    )
                ]
            )
        if array.dtype.kind not in "iu":
            raise invalid([FieldError.body(field, "values must be integers in [0, 255]")])
        if array.min() < 0 or array.max() > 255:
            raise invalid([FieldError.body(field, "values must be integers in [0, 255]")])
        out[i] = array
    return out


# --- output ------------------------------------------------------------------------------------


def run_model(
    session: onnxruntime.InferenceSession, classes: list[str], images: np.ndarray, k: int
) -> list[list[dict[str, Any]]]:
    """Top-k (class, probability) per image of uint8 N x 32 x 32 x 3."""
    batch = images.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255.0)
    (logits,) = session.run(["logits"], {"images": batch})
    z = logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    top = np.argsort(-p, axis=1, kind="stable")[:, :k]
    return [
        [{"index": int(c), "label": classes[c], "probability": float(p[i, c])} for c in row]
        for i, row in enumerate(top)
    ]


def check_k(k: int, classes: int) -> None:
    if k > classes:
        raise ApiError(
            422,
            ErrorCode.validation_error,
            f"k: at most {classes}, this job's number of classes",
            [FieldError.at("query", "k", f"at most {classes}, this job's number of classes")],
        )
