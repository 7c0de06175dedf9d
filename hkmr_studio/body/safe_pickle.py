"""Load SMPL-format body files without executing foreign code.

A pickle can call any importable function while it loads. Real SMPL files only need numpy arrays, scipy sparse
matrices and chumpy arrays, so `load_body_file` admits exactly those: numpy's array reconstruction, stand-ins for
scipy.sparse and chumpy objects that merely record their state (converted to numpy/scipy afterwards, chumpy is never
imported), and `numpy.zeros` with a size cap (our open body stores its all-zero pose correctives that way).
Anything else raises `UnsafeBodyFileError` before it is called. `.npz` files are read with `allow_pickle=False`.
"""

from __future__ import annotations

import codecs
import io
import pickle
import stat
import unicodedata
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse

#: Longest body path read (characters); Linux's PATH_MAX. Longer ones are refused before the file system sees them.
MAX_PATH_CHARS = 4096
#: Largest array `numpy.zeros` may allocate while loading (elements): a real body needs ~10 million at most.
MAX_ZEROS_ELEMENTS = 50_000_000


class UnsafeBodyFileError(ValueError):
    """The file asks to run code that no body model file needs."""


class BodyFileFormatError(ValueError):
    """The file is not a readable SMPL-format body model."""


class _RecordedState:
    """Stand-in for a foreign class: keeps the state pickle hands it and nothing else."""

    module = ""
    name = ""

    def __init__(self, *args: Any) -> None:
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state


class _ChumpyStandIn(_RecordedState):
    """Replaces chumpy.ch.Ch (and its relatives) in SMPL files; its state holds the array under 'x'."""


class _SparseStandIn(_RecordedState):
    """Replaces scipy.sparse matrix classes; the state holds data/indices/indptr/_shape."""


def _safe_reconstructor(cls: type, base: type, state: Any) -> Any:
    """copyreg._reconstructor restricted to our stand-ins (real SMPL files build chumpy/scipy objects this way)."""
    if not (isinstance(cls, type) and issubclass(cls, _RecordedState)) or base is not object:
        raise UnsafeBodyFileError(f"refusing to reconstruct {cls!r} from base {base!r}")
    return cls()


def _capped_zeros(shape: Any, dtype: Any = float, *args: Any, **kwargs: Any) -> np.ndarray:
    if args or kwargs:
        raise UnsafeBodyFileError("numpy.zeros called with unexpected arguments")
    count = int(np.prod(shape))
    if count > MAX_ZEROS_ELEMENTS:
        raise UnsafeBodyFileError(f"numpy.zeros asked for {count} elements; a body model needs far fewer")
    return np.zeros(shape, dtype=np.dtype(dtype))


_NUMPY_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): np.core.multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): np.core.multiarray._reconstruct,
    ("numpy.core.multiarray", "scalar"): np.core.multiarray.scalar,
    ("numpy._core.multiarray", "scalar"): np.core.multiarray.scalar,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy", "zeros"): _capped_zeros,
    ("numpy.core.numeric", "zeros"): _capped_zeros,
    ("_codecs", "encode"): codecs.encode,  # protocol-2 pickles from Python 3 store array bytes through it
    ("copy_reg", "_reconstructor"): _safe_reconstructor,
    ("copyreg", "_reconstructor"): _safe_reconstructor,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        allowed = _NUMPY_ALLOWED.get((module, name))
        if allowed is not None:
            return allowed
        if module == "chumpy" or module.startswith("chumpy."):
            return _ChumpyStandIn
        if module.startswith("scipy.sparse") and name in {"csc_matrix", "csr_matrix"}:
            return type(name, (_SparseStandIn,), {"module": module, "name": name})
        raise UnsafeBodyFileError(
            f"the body file asks to load '{module}.{name}', which no SMPL body model contains; refusing to run it"
        )


def _to_plain(value: Any) -> Any:
    """Turn stand-ins into numpy arrays / scipy matrices; leave everything else as it is."""
    if isinstance(value, _ChumpyStandIn):
        state = value.state if isinstance(value.state, dict) else {}
        if "x" not in state:
            raise BodyFileFormatError("a chumpy object in the file holds no array ('x'); it is not a plain SMPL file")
        return np.asarray(state["x"])
    if isinstance(value, _SparseStandIn):
        state = value.state if isinstance(value.state, dict) else {}
        try:
            data, indices, indptr = state["data"], state["indices"], state["indptr"]
            shape = state.get("_shape", state.get("shape"))
            kind = {"csr_matrix": scipy.sparse.csr_matrix}.get(type(value).name, scipy.sparse.csc_matrix)
            return kind((data, indices, indptr), shape=shape)
        except (KeyError, TypeError, ValueError) as exc:
            raise BodyFileFormatError(f"a sparse matrix in the file is malformed: {exc}") from exc
    return value


def _loads_restricted(payload: bytes) -> dict[str, Any]:
    try:
        data = _RestrictedUnpickler(io.BytesIO(payload), encoding="latin1").load()
    except UnsafeBodyFileError:
        raise
    except Exception as exc:  # any parse failure of an untrusted file is a format error for the user
        raise BodyFileFormatError(f"not a readable pickle: {exc}") from exc
    if not isinstance(data, dict):
        raise BodyFileFormatError(f"expected a dictionary of arrays, found {type(data).__name__}")
    return {str(k): _to_plain(v) for k, v in data.items()}


def path_text_problem(text: str) -> str:
    """Why `text` cannot be the path of a body file ('' when it can): control characters or excessive length."""
    if any(unicodedata.category(c) == "Cc" for c in text):
        shown = repr(text[:200]) + ("…" if len(text) > 200 else "")
        return (f"{shown} contains control characters (line breaks, tabs or invisible codes): rename the file or its "
                "folder, or choose another file")
    if len(text) > MAX_PATH_CHARS:
        return (f"{text[:60]!r}… is {len(text)} characters long (at most {MAX_PATH_CHARS} are read): move the file "
                "somewhere with a shorter path")
    return ""


def check_body_path(path: str | Path) -> Path:
    """`path` when it names a regular file that may be read; else BodyFileFormatError or FileNotFoundError, saying
    what the path is instead (hostile text, a folder, a device...)."""
    problem = path_text_problem(str(path))
    if problem:
        raise BodyFileFormatError(f"the body path {problem}")
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"body model file not found: {path}") from None
    except OSError as exc:
        raise BodyFileFormatError(f"the body path {path} cannot be used: {exc.strerror}") from None
    if stat.S_ISDIR(mode):
        raise BodyFileFormatError(f"{path} is a folder, not a body model file: choose the SMPL_NEUTRAL.pkl (or .npz) "
                                  "file inside it")
    if not stat.S_ISREG(mode):
        raise BodyFileFormatError(f"{path} is not a regular file (a device, pipe or socket): choose a .pkl or .npz "
                                  "body model file")
    return path


def load_body_file(path: str | Path) -> dict[str, Any]:
    """Read a SMPL-format body model (.pkl or .npz) into a dict of numpy arrays / scipy matrices, safely.

    Raises FileNotFoundError, UnsafeBodyFileError (the file would run code) or BodyFileFormatError.
    """
    path = check_body_path(path)
    if path.suffix.lower() == ".npz":
        try:
            with np.load(path, allow_pickle=False) as archive:
                return {k: archive[k] for k in archive.files}
        except ValueError as exc:
            raise UnsafeBodyFileError(f"{path.name}: the .npz holds pickled objects, which are not loaded") from exc
        except (OSError, zipfile.BadZipFile) as exc:
            raise BodyFileFormatError(f"{path.name}: not a readable .npz file: {exc}") from exc
    return _loads_restricted(path.read_bytes())

