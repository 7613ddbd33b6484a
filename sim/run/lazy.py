"""A module imported on first use rather than where it is imported: for what a command may not need.

Mesa imports pandas at the top of ``mesa.agent`` (and of its experimental data recorders), and uses
it only when agents are made from a data frame or data are collected into one; a run of this
simulator does neither, and pandas costs about 0.3 s of CPU to import, more than a 1,000-replication
run spends anywhere else outside simulating (issue 29). ``defer("pandas")`` puts a placeholder in
``sys.modules``: ``import pandas`` binds it at once, and its first use of a name it does not have
yet (``pd.DataFrame``), or the first import of a submodule (``import pandas.io.formats``), runs
pandas' own ``__init__`` in that same module object, as the import would have. Code that uses pandas
gets pandas.

Unlike ``importlib.util.LazyLoader``, which loads on *any* attribute, the attributes an import
statement reads (``__spec__``, ``__path__``) are real, so ``import pandas`` itself does not load it
(CPython reads ``__spec__._initializing`` on every import of a module already in ``sys.modules``);
and unlike it, a submodule never runs before its package's ``__init__``: a finder first on
``sys.meta_path`` hands the usual finders' spec of a deferred package's submodule a loader that
runs the package's ``__init__`` first, and hands back the submodule where that ``__init__``
imported it already (the ``sys.modules``-replacement case of ``importlib``), so no module runs
twice. Another thread that asks the module for a name while its code runs waits for it, as it
would at ``import``.
"""

from __future__ import annotations

import copy
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
import types

_lock = threading.RLock()  # one deferred module runs at a time; another thread that needs it waits
_loading: dict[str, int] = {}  # a deferred module whose code is running: the thread running it


class _Deferred(types.ModuleType):
    """A module whose code runs on first use of a name it does not have yet.

    It stays of this class while its code runs: another thread asking it for a name waits until the
    code has run (as it would wait at ``import``), and the code itself, asking its own module for a
    name not yet defined, gets the ``AttributeError`` of a partially initialised module.
    """

    def __getattr__(self, name: str):  # only for names not (yet) in the module
        spec = object.__getattribute__(self, "__spec__")
        if _loading.get(spec.name) == threading.get_ident():
            raise AttributeError(f"partially initialized module {spec.name!r} has no attribute {name!r}")
        load(self)
        return getattr(self, name)

    def __dir__(self):
        load(self)
        return dir(self)


def load(module: types.ModuleType) -> None:
    """Run a deferred module's code now (nothing if it has run or is running here); as an import would."""
    spec = object.__getattribute__(module, "__spec__")
    if _loading.get(spec.name) == threading.get_ident():
        return
    with _lock:
        if type(module) is not _Deferred:
            return  # another thread ran it while this one waited
        _loading[spec.name] = threading.get_ident()
        spec._initializing = True
        try:
            spec.loader.exec_module(module)
        except BaseException:
            if sys.modules.get(spec.name) is module:  # as a failed import leaves it: not imported
                del sys.modules[spec.name]
            raise
        else:
            module.__class__ = types.ModuleType
        finally:
            spec._initializing = False
            del _loading[spec.name]


class _PackageFirst(importlib.abc.MetaPathFinder):
    """A submodule of a deferred package: found by the usual finders, loaded after the package's ``__init__``."""

    def find_spec(self, name, path, target=None):
        package = name.partition(".")[0]
        if package == name or not is_deferred(package) or package in _loading:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            real = finder.find_spec(name, path, target)
            if real is not None:
                break
        else:
            return None
        spec = copy.copy(real)  # its origin, file and path, for the module's attributes
        spec.loader = _PackageFirstLoader(real, sys.modules[package])
        return spec


class _PackageFirstLoader(importlib.abc.Loader):
    """Runs the package's ``__init__``, then the submodule, unless that ``__init__`` has imported it already.

    In that case the module it imported is the import's result (``sys.modules`` replaced while the
    module is executed, which importlib honours), and nothing runs twice.
    """

    def __init__(self, real: importlib.machinery.ModuleSpec, package: types.ModuleType):
        self.real, self.package, self.imported = real, package, None

    def create_module(self, spec):
        load(self.package)
        self.imported = sys.modules.get(self.real.name)
        if self.imported is not None:
            return None  # a blank module, replaced below
        return self.real.loader.create_module(self.real)

    def exec_module(self, module):
        if self.imported is not None:
            sys.modules[self.real.name] = self.imported
            return
        module.__spec__, module.__loader__ = self.real, self.real.loader
        self.real.loader.exec_module(module)


def defer(name: str) -> bool:
    """Import the top-level module ``name`` on first use; False if it is imported already or not installed."""
    if "." in name:
        raise ValueError(f"defer: {name!r} is a submodule; only a top-level module can be deferred")
    if name in sys.modules:
        return False
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        return False
    module = importlib.util.module_from_spec(spec)
    module.__class__ = _Deferred
    with _lock:
        if not any(isinstance(f, _PackageFirst) for f in sys.meta_path):
            sys.meta_path.insert(0, _PackageFirst())
        sys.modules[name] = module
    return True


def is_deferred(name: str) -> bool:
    """Whether ``name`` is in ``sys.modules`` and its code has not run yet (or is running)."""
    return type(sys.modules.get(name)) is _Deferred
