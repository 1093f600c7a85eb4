"""Data that knows no networks: containers (`dataset`, `rdms`), the synthetic world, loaders of native formats, and `load_neural_data`."""
from visreps import lazy_modules as _lazy
__getattr__, __dir__ = _lazy(__name__, __path__)
