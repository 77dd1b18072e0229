"""The Celery worker: claims jobs, trains each in a fresh child process, reaps lost ones.

The worker's main process never imports torch; only `worker.train_child` (and the modules it
loads) does, in the child that one job gets.
"""
