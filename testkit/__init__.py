"""Helpers the tests and the benchmarks share: processes they start (Redis, PostgreSQL, workers,
the API), generated CIFAR files, the scanned digits in the CIFAR layout (`digits`), fresh
databases, and builders of settings, jobs and claims."""
