"""Messaging: the only part of core/ that imports Celery, kombu or Redis.

`broker`: what the API and the workers agree on (task and queue names, Celery settings);
`producer`: sending a job's id to the training queue; `dataset_queue`: the queue that processes
uploaded data sets (issue 19); `event_channel`: events and progress pushed between processes over
Redis pub/sub (or the database on the embedded set-up).
"""
