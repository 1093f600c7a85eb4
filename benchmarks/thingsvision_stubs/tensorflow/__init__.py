"""Empty stand-in for TensorFlow in the benchmark's baseline venv: thingsvision 2.7.3 imports TensorFlow at import time
although its PyTorch path never uses it (TensorFlow 2.15 would need numpy < 2 beside the pinned torch)."""
import sys, types
class _Any:
    def __init__(self, *a, **k): pass
    def __call__(self, *a, **k): return _Any()
    def __getattr__(self, name): return _Any()
    def __getitem__(self, k): return _Any()
    def __iter__(self): return iter(())
    def __len__(self): return 0
    def __or__(self, o): return _Any()
    __ror__ = __or__
    def __mro_entries__(self, bases): return (object,)
class _Mod(types.ModuleType):
    __path__ = []
    def __getattr__(self, name):
        if name.startswith("__"): raise AttributeError(name)
        full = f"{self.__name__}.{name}"
        m = _Mod(full); sys.modules[full] = m; setattr(self, name, m); return m
    def __call__(self, *a, **k): return _Any()
    def __mro_entries__(self, bases): return (object,)
import importlib.abc, importlib.machinery
class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("tensorflow", "keras") and name not in sys.modules and name != "tensorflow":
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
    def create_module(self, spec): return _Mod(spec.name)
    def exec_module(self, module): pass
sys.meta_path.insert(0, _Finder())
self = sys.modules[__name__]; self.__class__ = _Mod
