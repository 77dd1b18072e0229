"""What GET /jobs/{id} adds to the stored row: progress inside the epoch, place in the queue."""
