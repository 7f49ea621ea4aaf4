"""One ComponentResource per concern; each takes the typed stack config and registers
its outputs."""
