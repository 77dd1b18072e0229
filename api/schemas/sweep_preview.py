"""What `POST /sweeps?dry_run=true` answers: the children a sweep would make, and what they
would cost, with nothing created (issue 18)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class PreviewChild(BaseModel):
    point: dict[str, Any] = Field(description="its grid values (the fields that vary)")
    spec: dict[str, Any] = Field(description="the job as POST /jobs would store it")


class DeviceTotal(BaseModel):
    device: str = Field(description="as the worker reported it")
    precision: str
    seconds: float = Field(description="every child estimated, one after another on this device")
    children_estimated: int = Field(description="children with an estimate on this device")


class SweepPreview(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "dry_run": True,
                    "varying": ["architecture", "depth", "seed"],
                    "count": 2,
                    "children": [
                        {
                            "point": {"architecture": "plain", "depth": 20, "seed": 0},
                            "spec": {"architecture": "plain", "depth": 20, "seed": 0},
                        },
                        {
                            "point": {"architecture": "resnet", "depth": 20, "seed": 0},
                            "spec": {"architecture": "resnet", "depth": 20, "seed": 0},
                        },
                    ],
                    "training_flops": 4.1e15,
                    "estimates": [
                        {
                            "device": "NVIDIA H100 80GB HBM3",
                            "precision": "bf16",
                            "seconds": 410.0,
                            "children_estimated": 2,
                        }
                    ],
                }
            ]
        }
    )

    dry_run: bool = Field(default=True, description="always true: nothing was created")
    varying: list[str] = Field(description="the fields that differ between children")
    count: int = Field(description="how many jobs the sweep would make")
    children: list[PreviewChild]
    training_flops: float = Field(
        description="training FLOPs of every child, as the compute budget counts them"
    )
    estimates: list[DeviceTotal] = Field(
        description="per (device, precision) the workers have measured; empty before any has"
    )
