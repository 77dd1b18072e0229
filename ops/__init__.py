"""Operations commands, not API code: `make run` (run_local) and the API keys command (keys)."""
