"""Package data: the embedded default scenario."""
