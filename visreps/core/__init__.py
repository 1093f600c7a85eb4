"""The core: errors, typed configs, hashing, atomic storage (all torch-free) and the one torch backend module."""
from visreps import lazy_modules as _lazy
__getattr__, __dir__ = _lazy(__name__, __path__)
