"""Putting work on the queue: a job, a sweep, and the producer that sends their ids."""
