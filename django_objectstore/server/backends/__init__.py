"""Storage backends: where the engine keeps payloads and metadata."""
