"""What /datasets answers (issue 19): the built-in data sets and the owner's uploads."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.store.dataset_tables import Dataset
from core.vocabulary import DatasetStatus

EXAMPLE: dict[str, Any] = {
    "id": "5f0c1d2e-8a4b-4c7d-9e1f-2a3b4c5d6e7f",
    "name": "lab crops",
    "filename": "crops.zip",
    "status": "ready",
    "progress": 1.0,
    "error": None,
    "created_at": "2026-12-07T21:30:00Z",
    "finished_at": "2026-12-07T21:30:09Z",
    "upload_bytes": 5213044,
    "test_fraction": 0.2,
    "seed": 0,
    "fingerprint": "3b0f6c1e9a7d4b2c8e5f1a0d6c3b9e7f2a4d8c1b5e9f3a7d0c6b2e8f4a1d9c5b",
    "format": "image_folder",
    "train_images": 4000,
    "test_images": 1000,
    "num_classes": 2,
    "class_names": ["healthy", "infected"],
    "info": {
        "format": "image_folder",
        "resize": "centre square crop, then Pillow bicubic (antialiased) to 32x32",
        "original_sizes": {"64x64": 5000},
        "resized_images": 5000,
        "split": "seeded: test_fraction 0.2, seed 0",
    },
}


class BuiltinDataset(BaseModel):
    name: Literal["cifar10", "cifar100"]
    classes: int
    train_images: int
    test_images: int
    available: bool = Field(
        description="whether its files are in the service's DATA_DIR (as the API sees it)"
    )


class DatasetView(BaseModel):
    """An uploaded data set; the counts and fingerprint appear once it is `ready`."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    id: uuid.UUID
    name: str
    filename: str | None
    status: DatasetStatus
    progress: float = Field(description="0 to 1: the share of the upload read so far")
    error: str | None = Field(description="why it failed, naming the archive member or field")
    created_at: datetime
    finished_at: datetime | None
    upload_bytes: int = Field(description="bytes uploaded")
    test_fraction: float = Field(description="test share of a seeded split (folders without test/)")
    seed: int
    fingerprint: str | None = Field(
        description="sha256 of the canonical images, labels and class names; the same data gives "
        "the same fingerprint whatever the archive"
    )
    format: str | None
    train_images: int | None
    test_images: int | None
    num_classes: int | None
    class_names: list[str] | None
    info: dict[str, Any] | None = Field(
        description="how it was converted: the format, the resize method and original sizes, "
        "the split"
    )


class DatasetDetail(DatasetView):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **EXAMPLE,
                    "class_counts": {"train": [2000, 2000], "test": [500, 500]},
                    "samples": {"healthy": ["iVBORw0KGgo..."], "infected": ["iVBORw0KGgo..."]},
                }
            ]
        }
    )

    class_counts: dict[str, list[int]] | None = Field(
        description="images per class, by split (train, test), in class_names order"
    )
    samples: dict[str, list[str]] | None = Field(
        description="class name -> a few of its training images as base64 PNG (32 x 32)"
    )


class DatasetList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "builtin": [
                        {
                            "name": "cifar10",
                            "classes": 10,
                            "train_images": 50000,
                            "test_images": 10000,
                            "available": True,
                        }
                    ],
                    "uploads": [EXAMPLE],
                }
            ]
        }
    )

    builtin: list[BuiltinDataset]
    uploads: list[DatasetView]


def dataset_view(dataset: Dataset, *, detail: bool = False) -> DatasetView:
    values: dict[str, Any] = {
        "id": dataset.id,
        "name": dataset.name,
        "filename": dataset.filename,
        "status": dataset.status,
        "progress": dataset.progress,
        "error": dataset.error,
        "created_at": dataset.created_at,
        "finished_at": dataset.finished_at,
        "upload_bytes": dataset.upload_bytes,
        "test_fraction": dataset.test_fraction,
        "seed": dataset.seed,
        "fingerprint": dataset.fingerprint,
        "format": dataset.format,
        "train_images": dataset.train_images,
        "test_images": dataset.test_images,
        "num_classes": len(dataset.class_names) if dataset.class_names else None,
        "class_names": dataset.class_names,
        "info": dataset.info,
    }
    if detail:
        values.update(class_counts=dataset.class_counts, samples=dataset.samples)
        return DatasetDetail.model_validate(values)
    return DatasetView.model_validate(values)
