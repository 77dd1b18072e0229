"""Live events for the streams: the process's event hub and the SSE bytes it feeds."""
