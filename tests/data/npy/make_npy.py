#!/usr/bin/python3
"""Generates the reference .npy files that tests/core/test_npy.cpp reads back.

Run from this folder with /usr/bin/python3 (numpy 1.24 wrote the committed files):
    /usr/bin/python3 make_npy.py
The values are written out here; the C++ test asserts the same literals.
"""
import numpy as np

# float32, C order, shape (2, 3): exactly representable values plus -0.0 and a large one.
np.save("float32_2x3.npy", np.array([[0.0, 1.5, -2.25], [0.125, 1.0e6, -0.0]], dtype=np.float32))
# int64 labels, shape (5,), including a value above 2**31.
np.save("int64_5.npy", np.array([3, 0, 9, 1, 2**33], dtype=np.int64))
# int32 labels, shape (4,).
np.save("int32_4.npy", np.array([7, 0, 2, 5], dtype=np.int32))
# Files the readers must reject: float64 data, and a Fortran-ordered float32 array.
np.save("float64_3.npy", np.array([1.0, 2.0, 3.0], dtype=np.float64))
np.save("float32_fortran_2x3.npy", np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
