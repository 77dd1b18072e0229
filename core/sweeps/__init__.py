"""Sweeps (issue 10): many jobs from one request, and the reproduction report over their results.

Torch-free: the API expands and validates a sweep, and draws its report and figure.
"""
