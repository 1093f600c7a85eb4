"""Data that knows no networks: containers, the synthetic world, native-format loaders, `load_neural_data`."""
from visreps import lazy_modules as _lazy
__getattr__, __dir__ = _lazy(__name__, __path__)
