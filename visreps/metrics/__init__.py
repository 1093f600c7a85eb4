"""Metrics: numerics on arrays and data containers (RSA, encoding, PLS, dimensionality, ceilings, inference)."""
from visreps import lazy_modules as _lazy
__getattr__, __dir__ = _lazy(__name__, __path__)
