"""Loaders, one native format each (image folders, NSD, NSD-synthetic, TVSD, THINGS, BrainIO, the 92 images)."""
from visreps import lazy_modules as _lazy
__getattr__, __dir__ = _lazy(__name__, __path__)
