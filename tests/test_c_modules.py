"""Parallel compilation of a function's C modules: PyTensor then finds every one in its cache."""

import os
import shutil
import subprocess
import time

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.graph.fg import FunctionGraph
from pytensor.link.c.basic import CLinker, get_module_cache

from bayesfit.backend import c_modules
from bayesfit.backend.c_modules import PrecompilingVMLinker, precompile, precompiling_mode


def _debug_info(cache, since, function):
    """Whether each of ``function``'s C modules compiled after time ``since`` carries debugging information.

    Only this function's modules: another pytest worker may be compiling into the same cache.
    """
    from pytensor.link.c.op import COp

    files = set()
    for node in function.maker.fgraph.toposort():
        if isinstance(node.op, COp):
            key = CLinker().accept(FunctionGraph(node.inputs, node.outputs), no_recycling=[]).cmodule_key()
            module = cache._get_from_key(key)
            if module is not None and os.path.getmtime(module.__file__) >= since:
                files.add(module.__file__)
    assert files
    return [b".debug_info" in open(path, "rb").read() for path in sorted(files)]


def _fresh_graph(seed):
    """A graph whose two fused C modules are new to any cache (their constants are random)."""
    c1, c2, c3 = np.random.default_rng(seed).uniform(0.1, 0.9, 3).round(12)
    x = pt.dvector("x")
    total = pt.exp(x * c1 + c2).sum()
    out = pt.sin(x * c3 + total)
    return x, out, (c1, c2, c3)


def test_modules_compiled_side_by_side_are_the_ones_pytensor_uses():
    x, out, (c1, c2, c3) = _fresh_graph(np.random.SeedSequence().entropy)
    mode = precompiling_mode()
    assert isinstance(mode.linker, PrecompilingVMLinker)
    cache = get_module_cache()
    before, since = list(cache.stats), time.time()
    f = pytensor.function([x], out, mode=mode)
    # PyTensor's own path (stats[2]) compiled nothing: every module came from the pool
    assert cache.stats[2] == before[2]
    assert not any(_debug_info(cache, since, f))  # -g0: the same code, compiled faster
    xv = np.linspace(-1.0, 2.0, 7)
    np.testing.assert_allclose(f(xv), np.sin(xv * c3 + np.exp(xv * c1 + c2).sum()), rtol=1e-13)
    # the same graph again finds them all cached: nothing left to compile
    f2 = pytensor.function([x], out, mode=mode)
    assert precompile(f2.maker.fgraph.toposort()) == 0
    np.testing.assert_allclose(f2(xv), f(xv), rtol=0)


def test_without_precompiling_pytensor_compiles_them_itself():
    # the check above can fail: PyTensor's plain mode compiles new modules through its own path
    x, out, _ = _fresh_graph(np.random.SeedSequence().entropy)
    cache = get_module_cache()
    before, since = cache.stats[2], time.time()
    f = pytensor.function([x], out, mode="FAST_RUN")
    assert cache.stats[2] > before
    assert all(_debug_info(cache, since, f))  # PyTensor's own -g


@pytest.mark.skipif(not shutil.which(pytensor.config.cxx or "g++"), reason="no C compiler")
def test_common_headers_are_parsed_once_and_gcc_uses_them(tmp_path):
    x, out, _ = _fresh_graph(3)
    fgraph = pytensor.function([x], out, mode="FAST_COMPILE").maker.fgraph
    node = next(n for n in fgraph.toposort() if "exp" in str(n.op).lower())
    linker = CLinker().accept(FunctionGraph(node.inputs, node.outputs), no_recycling=[])
    src = linker.get_src_code()
    lines = c_modules._include_lines(src)
    assert lines.startswith("#include <Python.h>") and src.startswith(lines)
    flags = c_modules._compiler_flags(linker)
    extra = c_modules._pch_arguments(lines, flags, str(tmp_path))
    assert extra[0] == "-include" and os.path.isfile(extra[1] + ".gch")
    assert open(extra[1]).read() == lines
    (tmp_path / "mod.cpp").write_text(src)
    run = subprocess.run([*flags, *extra, "-H", "-Winvalid-pch", "-fsyntax-only", str(tmp_path / "mod.cpp")],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert f"! {extra[1]}.gch" in run.stderr.splitlines()  # "!": g++ used the precompiled header
    # another process finds the header on disk; other flags get their own
    c_modules._PCH.clear()
    assert c_modules._pch_arguments(lines, flags, str(tmp_path)) == extra
    other = c_modules._pch_arguments(lines, [*flags, "-DBAYESFIT_TEST_FLAG"], str(tmp_path))
    assert other[1] != extra[1] and os.path.isfile(other[1] + ".gch")
