"""Real peers for the tests: started on loopback, stopped at the end, skipped (or failed in CI) when they cannot run."""
