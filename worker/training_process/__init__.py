"""The training process of one job (`python -m worker.training_process.train_child`), forked
by the worker's main process (`worker.child`): it reads its order, renews the job's lease,
trains with `core.trainer` and writes how the job ended, all under the lease.

Imports torch (the worker's main process never does) and, of the worker, only the layer below
both processes: `worker.held_job`, `worker.store_calls`, `worker.after_commit`.
"""
