"""Call CasADi functions on NumPy memory directly (no DM conversions).

Converting a large DM to NumPy goes element by element through Python; the buffer interface
reads and writes NumPy arrays in place, which is over ten times faster for ensembles.
"""

from __future__ import annotations

from collections.abc import Sequence

import casadi as ca
import numpy as np


def call(function: ca.Function, args: Sequence[np.ndarray | float]) -> list[np.ndarray]:
    """Evaluate ``function``; each argument and result is a 2-D array in CasADi's shape.

    Missing arguments are zero; an argument may be a scalar.
    """
    buffer, run = function.buffer()
    keep = []
    for i in range(function.n_in()):
        rows, cols = function.size1_in(i), function.size2_in(i)
        value = args[i] if i < len(args) else 0.0
        array = np.asarray(value, dtype=float)
        if array.size == 1 and rows * cols != 1:
            array = np.full((rows, cols), float(array.reshape(-1)[0]))
        if array.size != rows * cols:
            raise ValueError(
                f"input {i} of {function.name()} needs {rows}x{cols} values, got {array.shape}"
            )
        data = np.ascontiguousarray(array.reshape(rows, cols).T)  # column-major for CasADi
        keep.append(data)
        # The stubs ask for a size argument that the binding itself rejects.
        buffer.set_arg(i, memoryview(data))  # type: ignore[call-arg,arg-type]
    results = []
    for i in range(function.n_out()):
        rows, cols = function.size1_out(i), function.size2_out(i)
        data = np.empty((cols, rows))
        keep.append(data)
        buffer.set_res(i, memoryview(data))  # type: ignore[call-arg,arg-type]
        results.append(data)
    run()
    if buffer.ret() != 0:
        raise RuntimeError(f"evaluation of {function.name()} failed (return code {buffer.ret()})")
    return [r.T for r in results]
