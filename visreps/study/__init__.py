"""The studies: results store, feature cache, the registry of analyses, evaluation, scoring and the model bank."""
from visreps import lazy_modules as _lazy
__getattr__, __dir__ = _lazy(__name__, __path__)
