"""dumbkv service."""
