"""Strict JSON out: every file and string the app writes parses with any JSON reader.

Python's json writes NaN and Infinity, which JSON has not; here non-finite numbers become null (the field's value is
unknown) and anything json would still refuse raises, so no file carries them.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np


def finite_or_none(value: Any) -> Any:
    """`value` with every non-finite float (Python or numpy, at any depth of dicts, lists and tuples) as None, numpy
    scalars and arrays as Python numbers and lists."""
    if isinstance(value, np.ndarray):
        return finite_or_none(value.tolist())
    if isinstance(value, np.generic):
        return finite_or_none(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite_or_none(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(item) for item in value]
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """json.dumps of `finite_or_none(value)` with allow_nan=False; keyword arguments as json.dumps's."""
    return json.dumps(finite_or_none(value), allow_nan=False, **kwargs)
