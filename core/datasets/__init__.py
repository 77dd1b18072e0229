"""A user's own data set (issue 19): uploaded archives checked and converted to one canonical form.

Torch-free (numpy, Pillow and the standard library), so that the API, the processing task and
the tests read it without the trainer. `process_upload` (process.py) is the one way in: it
recognises the format, reads it through the safe archive reader (archive.py) with the limits of
limits.py, and returns a `Canonical` (canonical.py) or raises `DatasetRejected` naming the member
or field at fault.
"""
