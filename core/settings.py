"""Service settings, read once from environment variables (and `.env`) by the API and the worker.

The trainer never reads these: the worker turns them into a `TrainConfig`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    # The role that owns the tables, for `python -m core.store.migrate` only (docker-compose.yml
    # runs the service as a role that may not change the schema); empty: DATABASE_URL.
    migration_database_url: str = Field(
        default="", description="SQLAlchemy URL for migrations; empty: DATABASE_URL"
    )
    data_dir: Path = Field(default=VAR_DIR / "data", description="datasets, shared by workers")
    download_datasets: bool = Field(default=True, description="fetch missing CIFAR files")

    # --- request bounds ---
    # Bytes of a request body, counted as they arrive (api/middleware/body_limit.py); routes
    # that take uploads declare their own limit there. A JSON job spec is under 1 KiB.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # Failed authentications (unknown or revoked keys) per client address and API process;
    # past the limit within the window, that address gets 429 with Retry-After (api/auth.py).
    auth_max_failures: int = Field(default=20, ge=1)
    auth_failure_window_s: float = Field(default=60.0, gt=0)
    # How long an unknown key is remembered as unknown, sparing the database a query each time.
    auth_negative_cache_s: float = Field(default=5.0, ge=0)
    max_depth: int = Field(default=1202, ge=8)
    max_epochs: int = Field(default=500, ge=1)
    min_batch_size: int = Field(default=8, ge=1)
    max_batch_size: int = Field(default=2048, ge=1)
    # epochs x trainable parameters; 164 epochs of ResNet-1202 is about 3.2e9
    max_cost: float = Field(default=4e9, gt=0)
    max_queued_per_owner: int = Field(default=100, ge=1)  # a sweep counts as one
    max_sweep_children: int = Field(default=256, ge=1)  # jobs one POST /sweeps may create
    max_running_per_owner: int = Field(default=8, ge=1)
    compute_budget_flops: float = Field(
        default=0.0,
        ge=0,
        description="training FLOPs (epochs left x training images x FLOPs per image) one "
        "owner's queued and running jobs may hold together; a submission past it gets 429 "
        "saying how much is in use; 0: no budget (ResNet-56 for 164 epochs is about 6.2e15)",
    )
    warm_start: bool = Field(
        default=True,
        description="keep the next training process started (torch imported, datasets read) "
        "while the worker is idle",
    )

    # --- storage (issue 7): what jobs keep once they have ended ---
    storage_quota_bytes: int = Field(
        default=20 * (1 << 30),
        ge=0,
        description="bytes of weights, checkpoints and other job files one owner may store; "
        "past it, new jobs are refused until the owner deletes finished jobs",
    )
    failed_job_retention_days: float = Field(
        default=0.0,
        ge=0,
        description="days after which failed and cancelled jobs' stored data is deleted by the "
        "reaper (the job row stays, marked deleted); 0 keeps it",
    )

    # --- worker behaviour ---
    job_timeout_s: float = Field(default=7 * 24 * 3600, gt=0, description="max run time of a job")
    max_attempts: int = Field(default=3, ge=1, description="deliveries that may crash a worker")
    heartbeat_interval_s: float = Field(default=10.0, gt=0)
    # a running job whose heartbeat is older than this is handed to another worker
    lease_timeout_s: float = Field(default=120.0, gt=0)
    checkpoint_interval_s: float = Field(default=600.0, gt=0, description="mid-epoch checkpoints")
    progress_interval_s: float = Field(
        default=0.5,
        ge=0.1,
        le=3600,
        description="least seconds between two progress reports of a training job (batch "
        "counter, speed, ETA); the first of an epoch comes this long after its first batch",
    )
    reaper_interval_s: float = Field(default=15.0, gt=0)
    shutdown_grace_s: float = Field(default=60.0, gt=0, description="SIGTERM to hand-back")
    device: str = Field(default="auto", description="training device for this worker")
    # --- several jobs per GPU (issue 13) ---
    jobs_per_gpu: int = Field(
        default=1,
        ge=1,
        le=64,
        description="jobs one worker trains at once on its device, each in its own process "
        "(small networks leave most of a GPU idle; see docs/GPU-SHARING.md)",
    )
    gpu_memory_bytes: int | None = Field(
        default=None,
        gt=0,
        description="device memory this worker's jobs may use together; unset: the free memory "
        "measured when the worker starts on a GPU, no limit on the CPU",
    )
    # Lock files of this machine's workers, one per Celery node name: a worker restarted under
    # the name of a dead one takes back its running jobs at once (worker/recovery.py).
    worker_state_dir: Path = Field(
        default=VAR_DIR / "worker", description="worker lock files; local to the machine"
    )

    # --- webhooks and live events (issue 8) ---
    allow_private_webhooks: bool = Field(
        default=False,
        description="deliver webhooks to loopback, private, link-local and metadata addresses "
        "(local runs, tests); off, such URLs are refused at submission and at delivery",
    )
    # Open Server-Sent Events streams of one owner; one more is a 429 (issue 17). With a Redis
    # broker the count spans the API processes (core/messaging/owner_leases.py).
    max_streams_per_owner: int = Field(
        default=20, ge=1, description="open event streams of one owner, across API processes"
    )
    # A slot of an API process that died without giving it back is free again after this.
    owner_lease_ttl_s: float = Field(
        default=30.0, gt=0, description="life of an unrenewed per-owner slot in Redis"
    )
    allow_http_webhooks: bool = Field(default=False, description="accept http:// webhook URLs")
    webhook_timeout_s: float = Field(default=10.0, gt=0, description="one delivery attempt")
    # Retries back off from the first delay, doubling up to an hour, for as long as this.
    webhook_retry_first_s: float = Field(default=10.0, gt=0)
    webhook_retry_for_s: float = Field(default=25 * 3600.0, gt=0)

    # --- predictions from a job's ONNX export in the API process (issue 11) ---
    predict_max_images: int = Field(default=256, ge=1, description="images per predict request")
    predict_max_body_bytes: int = Field(
        default=64 * (1 << 20), ge=1024, description="bytes of one predict request's body"
    )
    # 256 images as json.dumps writes them take 4.47 MB; the JSON path is read into memory and,
    # when it is not in the common form, parsed (issue 17: sized for the images, not the files).
    predict_max_json_bytes: int = Field(
        default=5 * (1 << 20), ge=1024, description="bytes of one JSON predict request's body"
    )
    # Refused before decoding (a decompression bomb declares a huge size in a small file).
    predict_max_pixels: int = Field(
        default=4096 * 4096, ge=1024, description="declared width x height of an uploaded image"
    )
    # Decoded pixels of all the files of one request, from their headers, before decoding: 32
    # WebP files of 4096^2 took 14 s of CPU (issue 17).
    predict_max_request_pixels: int = Field(
        default=4 * 4096 * 4096, ge=1024, description="declared pixels of all files of a request"
    )
    # Pillow decodes WebP holding the GIL: 200 ms per 4096^2 file stalls every other request.
    predict_max_webp_pixels: int = Field(
        default=1024 * 1024, ge=1024, description="declared pixels of an uploaded WebP image"
    )
    # Processes of their own, below the API's priority (issue 17: in threads of the API, the GIL
    # and the cores they took gave GET /jobs/{id} a p99 of 409 ms during worst-case predictions).
    predict_processes: int = Field(
        default=2,
        ge=0,
        description="processes decoding images and running models, per API process; 0: threads "
        "of the API process",
    )
    predict_max_concurrent: int = Field(
        default=2,
        ge=1,
        description="predictions of one owner running at once, across API processes",
    )
    predict_cache_bytes: int = Field(
        default=512 * (1 << 20),
        ge=0,
        description="ONNX files kept loaded for predictions (least recently used dropped first)",
    )
    # 0 keeps a batch's throughput (1 thread halved ResNet-20's batches of 256 on 2 cores): the
    # prediction processes' lower priority, not fewer threads, keeps the API's latency (issue 17).
    predict_threads: int = Field(
        default=0, ge=0, description="onnxruntime intra-op threads per model; 0: its default"
    )

    # --- users' own data sets (issue 19) ---
    dataset_max_upload_bytes: int = Field(
        default=4 * (1 << 30), ge=1024, description="bytes of one POST /datasets upload"
    )
    dataset_cache_dir: Path = Field(
        default=VAR_DIR / "dataset-cache",
        description="a worker's local copies of uploaded data sets, by fingerprint; local to "
        "the machine (the database holds the data sets themselves)",
    )

    @field_validator("database_url")
    @classmethod
    def _psycopg3_driver(cls, url: str) -> str:
        return normalize_url(url)

    @field_validator("gpu_memory_bytes", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `GPU_MEMORY_BYTES=` in an .env file or a compose environment means "measure it".
        return None if isinstance(value, str) and not value.strip() else value


def normalize_url(url: str) -> str:
    """The usual postgresql:// form would pick psycopg2, which is not installed: use psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
