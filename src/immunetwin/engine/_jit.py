"""Generate C for a CasADi function, compile it once, and cache the shared library on disk."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

import casadi as ca

from immunetwin.config import c_compiler, cache_dir
from immunetwin.errors import ConvergenceWarning

_FLAGS = (("-O3", "-march=native"), ("-O2",))


def compiled(function: ca.Function, key: str) -> ca.Function:
    """A C-compiled equivalent of ``function``; falls back to it (with a warning) if no C
    compiler works.

    The disk cache is keyed by the serialised function itself (its whole algorithm, sizes and
    options), so two models never share a library by accident; ``key`` is mixed in as well.
    """
    content = hashlib.sha256(function.serialize().encode()).hexdigest()
    digest = hashlib.sha256(f"{key}|{content}|{_FLAGS}".encode()).hexdigest()[:24]
    folder = cache_dir() / "jit"
    library = folder / f"f_{digest}.so"
    if not library.exists():
        compiler = shutil.which(c_compiler())
        if compiler is None:
            warnings.warn(
                f"no C compiler '{c_compiler()}' found; using the slower interpreted integrator "
                "(install gcc or set IMMUNETWIN_CC)",
                ConvergenceWarning,
                stacklevel=3,
            )
            return function
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder) as work:
            generator = ca.CodeGenerator(f"f_{digest}.c")
            generator.add(function)
            source = Path(generator.generate(f"{work}/"))
            built = Path(work) / library.name
            process = None
            for flags in _FLAGS:  # the tuned flags first, plain -O2 if the compiler rejects them
                process = subprocess.run(
                    [compiler, *flags, "-shared", "-fPIC", str(source), "-o", str(built), "-lm"],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if process.returncode == 0:
                    break
            assert process is not None
            if process.returncode != 0:
                warnings.warn(
                    f"C compilation failed ({process.stderr.strip()[:200]}); using the "
                    "interpreted integrator",
                    ConvergenceWarning,
                    stacklevel=3,
                )
                return function
            os.replace(built, library)  # atomic: concurrent processes never see half a file
    return ca.external(function.name(), str(library))
