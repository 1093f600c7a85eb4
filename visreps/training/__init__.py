"""Training: PCA labels, the trainer, and the label and training steps of a plan."""
from visreps import lazy_modules as _lazy
__getattr__, __dir__ = _lazy(__name__, __path__)
