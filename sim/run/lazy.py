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
and unlike it, a submodule is never imported before its package's ``__init__`` has run: a finder
first on ``sys.meta_path`` runs the package's ``__init__`` when one of its submodules is looked
for, and hands back the submodule where that ``__init__`` imported it already (the
``sys.modules``-replacement case of ``importlib``), so no module runs twice.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
import types

_lock = threading.RLock()


class _Deferred(types.ModuleType):
    """A module whose code runs on first use of a name it does not have yet."""

    def __getattr__(self, name: str):  # only for names not (yet) in the module
        load(self)
        return getattr(self, name)

    def __dir__(self):
        load(self)
        return dir(self)


def load(module: types.ModuleType) -> None:
    """Run a deferred module's code now (nothing if it has run); as an import would, failing or not."""
    with _lock:
        if type(module) is not _Deferred:
            return
        spec = object.__getattribute__(module, "__spec__")
        module.__class__ = types.ModuleType
        spec._initializing = True
        try:
            spec.loader.exec_module(module)
        except BaseException:
            if sys.modules.get(spec.name) is module:  # as a failed import leaves it: not imported
                del sys.modules[spec.name]
            raise
        finally:
            spec._initializing = False


class _PackageFirst(importlib.abc.MetaPathFinder):
    """Runs a deferred package's ``__init__`` before any of its submodules is found."""

    def find_spec(self, name, path, target=None):
        package = name.partition(".")[0]
        if package == name or not is_deferred(package):
            return None
        load(sys.modules[package])
        module = sys.modules.get(name)
        if module is None:
            return None  # the usual finders find it, its package now initialised
        # The package's __init__ imported it. importlib answers with the module's own ``__spec__`` where
        # the module appeared while it was looked for, and would run it again from that spec's loader:
        # the spec is this one until the module is handed back.
        spec = importlib.machinery.ModuleSpec(name, _Imported(module))
        module.__spec__ = spec
        return spec


class _Imported(importlib.abc.Loader):
    """The loader of a module that the package's ``__init__`` imported while it was looked for: that module."""

    def __init__(self, module: types.ModuleType):
        self.module, self.spec = module, module.__spec__

    def create_module(self, spec):
        return None  # a blank module, replaced in ``sys.modules`` below

    def exec_module(self, module):
        self.module.__spec__ = self.spec
        sys.modules[self.module.__name__] = self.module  # importlib returns what sys.modules holds after this


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
    """Whether ``name`` is in ``sys.modules`` and its code has not run yet."""
    return type(sys.modules.get(name)) is _Deferred
