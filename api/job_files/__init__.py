"""A job's files: the weight downloads, and the answers for files that are gone or not yet made."""
