"""Service settings, read once from environment variables (and `.env`) by the API and the worker.

The trainer never reads these: the worker turns them into a `TrainConfig`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.store.db import normalize_url

VAR_DIR = Path("var")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # --- where things live; the defaults are the embedded set-up of `make run` ---
    database_url: str = Field(
        default=f"sqlite:///{VAR_DIR / 'service.db'}",
        description="SQLAlchemy URL; postgresql://user@host/db works as is",
    )
    broker_url: str = Field(
        default=f"filesystem://{VAR_DIR / 'broker'}",
        description="Celery broker: redis://host:6379/0 in production",
    )
    data_dir: Path = Field(default=VAR_DIR / "data", description="datasets, shared by workers")
    download_datasets: bool = Field(default=True, description="fetch missing CIFAR files")

    # --- request bounds (POST /jobs) ---
    max_depth: int = Field(default=1202, ge=8)
    max_epochs: int = Field(default=500, ge=1)
    min_batch_size: int = Field(default=8, ge=1)
    max_batch_size: int = Field(default=2048, ge=1)
    # epochs x trainable parameters; 164 epochs of ResNet-1202 is about 3.2e9
    max_cost: float = Field(default=4e9, gt=0)
    max_queued_per_owner: int = Field(default=100, ge=1)
    max_running_per_owner: int = Field(default=8, ge=1)

    # --- worker behaviour ---
    job_timeout_s: float = Field(default=7 * 24 * 3600, gt=0, description="max run time of a job")
    max_attempts: int = Field(default=3, ge=1, description="deliveries that may crash a worker")
    heartbeat_interval_s: float = Field(default=10.0, gt=0)
    # a running job whose heartbeat is older than this is handed to another worker
    lease_timeout_s: float = Field(default=120.0, gt=0)
    checkpoint_interval_s: float = Field(default=600.0, gt=0, description="mid-epoch checkpoints")
    reaper_interval_s: float = Field(default=15.0, gt=0)
    shutdown_grace_s: float = Field(default=60.0, gt=0, description="SIGTERM to hand-back")
    device: str = Field(default="auto", description="training device for this worker")

    @field_validator("database_url")
    @classmethod
    def _psycopg3_driver(cls, url: str) -> str:
        return normalize_url(url)


@lru_cache
def get_settings() -> Settings:
    return Settings()
