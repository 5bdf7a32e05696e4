"""cgan-bench: one versioned, fingerprinted protocol for evaluating conditional image synthesis."""

__version__ = "0.1.0"
