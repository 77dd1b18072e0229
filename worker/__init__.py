"""The Celery worker: claims jobs, trains each in a fresh training process, reaps lost ones.

Two sides, by the process that runs the code:
- the worker's main process (the Celery side), these top-level modules: `app`, `tasks` and
  `signals` (Celery's entry points), `supervisor` and `child` (one job from claim to settling),
  `admission`, `run_limit`, `spare`, `spawn`, `reaper`, `recovery`, `dispatch`,
  `webhook_delivery`. It never imports torch.
- `worker.training_process`: the forked training process of one job, the only one with torch.

Below both, torch-free and used by both: `held_job` (every store call about a held job),
`store_calls` (retried store calls) and `after_commit` (events and webhooks after a commit).
The training process imports nothing else of the worker.
"""
