"""Compiling a PyTensor function's C modules side by side, one C compiler per core.

PyTensor's C backend compiles one C module per distinct operation of a graph, one after the
other, and holds its compile-directory lock (a file lock, shared by every process) while the
compiler runs: a cold di-muon MAP + Laplace function needs about a hundred modules, 0.7 s of
``g++`` each on this project's 2-core machine, and two processes compiling at once (pytest's
workers) wait for each other. :func:`precompiling_mode` returns PyTensor's default mode whose
linker first compiles the modules the function lacks in a pool of threads (one ``g++`` process
per core, outside the lock), then adds each to PyTensor's cache under the lock, exactly as
PyTensor's own ``ModuleCache.module_from_key`` would; PyTensor's usual per-node thunk building
then finds every module in its cache. Nothing changes in what is compiled or how it runs; a
module the pool cannot prepare (an Op without C code) is left to PyTensor's usual path.

Much of ``g++``'s time per module goes to parsing the same headers (Python, NumPy, the C++
library: 0.3 s of a small module's 0.4 s), which every module includes first. The pool
therefore compiles those leading ``#include`` lines once into a precompiled header
(``bayesfit_pch/`` inside PyTensor's compile directory, keyed by the compiler flags and by the
size and time of every header file it read) and pre-includes it (``-include``) in each module
whose source starts with exactly those lines: the module's own includes then change nothing,
and the compiled code is the same (the di-muon MAP function: 43 s instead of 56 s). Where the
header cannot be built (another compiler), modules compile as before. The pool also leaves out
the debugging information PyTensor asks for (``-g``): the machine code is the same and the
largest fused loops compile a quarter faster.

Use it for a large function compiled once (bayesfit's MAP + Laplace function,
:mod:`bayesfit.backend.compiled`); a function of a single new module still gains the precompiled
header, and one whose modules are all cached gains nothing.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import threading

from pytensor.compile.mode import Mode, get_default_mode
from pytensor.link.vm import VMLinker

from bayesfit.backend import compat

__all__ = ["precompile", "precompiling_mode", "PrecompilingVMLinker"]

_REGISTER = threading.Lock()
# PyTensor asks g++ for debugging information (``-g``), which does not change the machine code
# but costs a quarter of the compiler's time on a large fused loop (the Z line shape's 0.7 MB
# module: 29 s with it, 21 s without, the same instructions): the pool's modules go without.
_NO_DEBUG_INFO = ["-g0"]
_PCH: dict = {}  # (include lines, flags, folder) -> extra compiler arguments, per process


def _workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _missing_modules(nodes, cache) -> list:
    """Return ``(linker, key, module_hash)`` of the nodes' C modules not in ``cache``, one per module."""
    from pytensor.graph.fg import FunctionGraph
    from pytensor.link.c.basic import CLinker
    from pytensor.link.c.cmodule import get_module_hash
    from pytensor.link.c.op import COp

    jobs, seen = [], set()
    for node in nodes:
        if not isinstance(node.op, COp):
            continue
        try:
            # as COp.make_c_thunk builds it, with the VM's empty no-recycling list
            linker = CLinker().accept(FunctionGraph(node.inputs, node.outputs), no_recycling=[])
            key = linker.cmodule_key()
            if key is None or not key[0] or compat.module_cache_lookup(cache, key) is not None:
                continue  # unversioned (never cached) or cached already
            module_hash = get_module_hash(linker.get_src_code(), key)
        except Exception:  # noqa: BLE001 - no C code (MethodNotDefined, NotImplementedError, ...): PyTensor decides
            continue
        if module_hash in seen or compat.module_cache_lookup(cache, key, module_hash) is not None:
            continue
        seen.add(module_hash)
        jobs.append((linker, key, module_hash))
    return jobs


def _include_lines(src: str) -> str:
    """Return the leading ``#include`` lines of a module's source."""
    lines = []
    for line in src.splitlines(keepends=True):
        if not line.startswith("#include"):
            break
        lines.append(line)
    return "".join(lines)


def _compiler_flags(linker) -> list[str]:
    """Return the flags ``GCC_compiler.compile_str`` gives ``g++`` for ``linker``'s module, up to ``-o``."""
    from pytensor import config
    from pytensor.link.c.cmodule import std_include_dirs

    preargs = linker.compile_args()
    if config.cmodule__remove_gxx_opt:
        preargs = [p for p in preargs if not p.startswith("-O")]
    dirs = [d for d in linker.header_dirs() if d] + std_include_dirs()
    flags = [config.cxx, "-g", *preargs, *_NO_DEBUG_INFO, *(f"-I{d}" for d in dirs)]
    return flags + (["-fvisibility=hidden"] if sys.platform != "win32" else [])


def _pch_arguments(lines: str, flags: list[str], folder: str) -> list[str]:
    """Return ``["-include", header]`` for a precompiled header of ``lines``, built once; ``[]`` if none.

    The header's folder is named by a digest of the flags, the lines and the size and
    modification time of every file they include (``g++ -M``), so that a changed compiler flag
    or an upgraded NumPy or Python gets a new header (GCC itself does not check included files).
    """
    import filelock

    memo = (lines, tuple(flags), folder)
    if memo not in _PCH:
        _PCH[memo] = []
        if lines and flags[0]:
            try:
                deps = subprocess.run([*flags, "-x", "c++", "-M", "-"], input=lines,
                                      capture_output=True, text=True, check=True).stdout
                files = sorted(set(deps.replace("\\\n", " ").split()[1:]))
                stamp = [(f, os.stat(f).st_size, os.stat(f).st_mtime_ns) for f in files]
                digest = hashlib.sha256(repr((flags, lines, stamp)).encode()).hexdigest()[:20]
                where = os.path.join(folder, "bayesfit_pch", digest)
                header = os.path.join(where, "prefix.h")
                os.makedirs(where, exist_ok=True)
                with filelock.FileLock(where + ".lock"):
                    if not os.path.exists(header + ".gch"):
                        with open(header, "w") as f:
                            f.write(lines)
                        subprocess.run([*flags, "-x", "c++-header", header, "-o", header + ".gch.part"],
                                       capture_output=True, check=True)
                        os.replace(header + ".gch.part", header + ".gch")
                _PCH[memo] = ["-include", header]
            except (OSError, subprocess.SubprocessError):
                pass  # no precompiled header: each module parses its headers, as PyTensor does
    return _PCH[memo]


def _compile(linker, location, extra_args=()):
    """Run the C compiler for one module into ``location``, without PyTensor's lock; return its name."""
    module = linker.get_dynamic_module()
    linker.c_compiler().compile_str(
        module_name=module.code_hash, src_code=module.code(), location=location,
        include_dirs=linker.header_dirs(), lib_dirs=linker.lib_dirs(), libs=linker.libraries(),
        preargs=[*linker.compile_args(), *_NO_DEBUG_INFO, *extra_args], py_module=False)
    return module.code_hash


def _register(cache, key, module_hash, location, name):
    """Import a compiled module and add it to PyTensor's cache (what ``module_from_key`` does)."""
    from pytensor.compile.compilelock import lock_ctx
    from pytensor.link.c.cmodule import dlimport, get_lib_extension

    with open(os.path.join(location, "__init__.py"), "w"):
        pass
    module = dlimport(os.path.join(location, f"{name}.{get_lib_extension()}"))
    with lock_ctx():
        cache.refresh(cleanup=False)  # another process may have added it meanwhile
        if compat.module_cache_lookup(cache, key, module_hash) is not None:
            shutil.rmtree(location, ignore_errors=True)
            return
        compat.module_cache_add(cache, module, key, module_hash)


def precompile(nodes) -> int:
    """Compile the C modules of ``nodes`` missing from PyTensor's cache, in parallel.

    Parameters
    ----------
    nodes : iterable of pytensor.graph.basic.Apply

    Returns
    -------
    int
        The number of modules compiled. A module that fails to compile is left to PyTensor,
        which compiles it again and reports the error as usual.
    """
    from pytensor.link.c.basic import get_module_cache
    from pytensor.link.c.cmodule import dlimport_workdir

    cache = get_module_cache()
    jobs = _missing_modules(nodes, cache)
    if not jobs:
        return 0  # a single module gains too: the precompiled header (0.6 s -> 0.3 s a small module)
    done = 0
    with concurrent.futures.ThreadPoolExecutor(min(_workers(), len(jobs))) as pool:
        futures = {}
        try:
            for linker, key, module_hash in jobs:
                extra = _pch_arguments(_include_lines(linker.get_src_code()), _compiler_flags(linker),
                                       cache.dirname)
                location = dlimport_workdir(cache.dirname)
                futures[pool.submit(_compile, linker, location, extra)] = (key, module_hash, location)
            for future in concurrent.futures.as_completed(futures):
                key, module_hash, location = futures[future]
                try:
                    name = future.result()
                    with _REGISTER:
                        _register(cache, key, module_hash, location, name)
                    done += 1
                except Exception:  # noqa: BLE001 - PyTensor's own path compiles it and reports
                    shutil.rmtree(location, ignore_errors=True)
        except BaseException:  # Ctrl-C or SIGTERM: start no more compilers, stop the running ones
            pool.shutdown(wait=False, cancel_futures=True)
            # PyTensor prints where the C code of each killed compilation lies: not for the user,
            # who stopped the run, so the threads finish with standard output silenced
            with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
                _stop_compilers()  # their half-written folders are PyTensor's to clean, as after any crash
                pool.shutdown(wait=True)
            raise
    return done


def _stop_compilers():
    """Kill the C compilers this process started (an interrupted compilation must not outlive it)."""
    try:
        import psutil  # a dependency of distributed
    except ImportError:
        return
    from pytensor import config

    names = {os.path.basename(config.cxx), "cc1plus", "as", "ld", "collect2"}
    for child in psutil.Process().children(recursive=True):
        try:
            if child.name() in names:
                child.kill()
        except psutil.Error:  # gone already
            pass


class PrecompilingVMLinker(VMLinker):
    """PyTensor's VM linker that first compiles the graph's missing C modules in parallel."""

    def make_all(self, *args, **kwargs):
        precompile(self.schedule(self.fgraph))
        return super().make_all(*args, **kwargs)


def precompiling_mode():
    """Return PyTensor's default mode with :class:`PrecompilingVMLinker` (the default mode when
    its linker is not PyTensor's VM linker with C thunks, e.g. a user's ``PYTENSOR_FLAGS=mode=NUMBA``
    or a machine without a C compiler).

    A function compiled with it would pickle this class by name; bayesfit's MAP + Laplace
    function records PyTensor's default mode instead (``bayesfit.backend.compiled._compile_map``).
    """
    base = get_default_mode()
    linker = base.linker
    if type(linker) is not VMLinker or not linker.c_thunks:  # another backend, or no C compiler
        return base
    if not compat.supported("c_side_by_side"):  # PyTensor's internals differ: its own path
        return base
    return Mode(linker=PrecompilingVMLinker(
        allow_gc=linker.allow_gc, use_cloop=linker.use_cloop, callback=linker.callback,
        callback_input=linker.callback_input, lazy=linker.lazy, schedule=compat.vm_linker_schedule(linker),
        c_thunks=linker.c_thunks, allow_partial_eval=linker.allow_partial_eval), optimizer=base.provided_optimizer)
