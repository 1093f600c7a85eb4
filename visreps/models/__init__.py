"""Networks: the zoo, their identity, and features read out of any network (with every feature reduction)."""
from visreps import lazy_modules as _lazy
__getattr__, __dir__ = _lazy(__name__, __path__)
