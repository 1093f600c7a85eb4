"""The face: papermill sweeps, the book, and the command line."""
from visreps import lazy_modules as _lazy
__getattr__, __dir__ = _lazy(__name__, __path__)
