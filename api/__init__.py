"""The HTTP API: submit training jobs, follow them, download the weights. Imports no torch."""
