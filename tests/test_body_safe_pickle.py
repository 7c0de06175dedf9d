"""Body files load without running foreign code; real SMPL's chumpy/scipy contents are understood."""

import os
import pickle
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse

from hkmr_studio.body.safe_pickle import BodyFileFormatError, UnsafeBodyFileError, load_body_file


class _RunsCode:
    """An object whose unpickling would call os.system (touch a marker file)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_hostile_pickle_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "SMPL_NEUTRAL.pkl"
    bad.write_bytes(pickle.dumps({"v_template": np.zeros((3, 3)), "payload": _RunsCode(marker)}))
    with pytest.raises(UnsafeBodyFileError, match=r"posix\.system|os\.system|refusing"):
        load_body_file(bad)
    assert not marker.exists()


def test_builtin_eval_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (eval, ("1+1",))

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"x": Evil()}))
    with pytest.raises(UnsafeBodyFileError, match="builtins.eval"):
        load_body_file(path)


def test_numpy_and_sparse_contents_round_trip(tmp_path):
    sparse = scipy.sparse.random(24, 50, density=0.1, format="csc", random_state=0)
    data = {"v_template": np.arange(12.0).reshape(4, 3), "J_regressor": sparse, "bs_type": "lrotmin"}
    path = tmp_path / "body.pkl"
    path.write_bytes(pickle.dumps(data, protocol=2))
    loaded = load_body_file(path)
    np.testing.assert_array_equal(loaded["v_template"], data["v_template"])
    assert scipy.sparse.issparse(loaded["J_regressor"])
    np.testing.assert_allclose(loaded["J_regressor"].toarray(), sparse.toarray())
    assert loaded["bs_type"] == "lrotmin"


def test_chumpy_arrays_become_numpy_without_importing_chumpy(tmp_path, monkeypatch):
    # A stand-in 'chumpy.ch.Ch' that pickles the way chumpy's does: class reference plus a state dict with 'x'.
    chumpy = types.ModuleType("chumpy")
    ch = types.ModuleType("chumpy.ch")
    Ch = type("Ch", (), {"__module__": "chumpy.ch", "__init__": lambda self, x: setattr(self, "x", x)})
    ch.Ch = Ch
    monkeypatch.setitem(sys.modules, "chumpy", chumpy)
    monkeypatch.setitem(sys.modules, "chumpy.ch", ch)
    path = tmp_path / "chumpy_body.pkl"
    path.write_bytes(pickle.dumps({"shapedirs": Ch(np.ones((4, 3, 10)))}, protocol=2))
    monkeypatch.delitem(sys.modules, "chumpy")
    monkeypatch.delitem(sys.modules, "chumpy.ch")
    loaded = load_body_file(path)
    assert isinstance(loaded["shapedirs"], np.ndarray) and loaded["shapedirs"].shape == (4, 3, 10)
    assert "chumpy" not in sys.modules


def test_numpy_zeros_is_allowed_only_within_a_size_cap(tmp_path):
    class Zeros:
        def __init__(self, shape):
            self.shape = shape

        def __reduce__(self):
            return (np.zeros, (self.shape, "float32"))

    ok = tmp_path / "ok.pkl"
    ok.write_bytes(pickle.dumps({"posedirs": Zeros((10, 3, 207))}))
    assert load_body_file(ok)["posedirs"].shape == (10, 3, 207)
    huge = tmp_path / "huge.pkl"
    huge.write_bytes(pickle.dumps({"posedirs": Zeros((10**6, 3, 207))}))
    with pytest.raises(UnsafeBodyFileError, match="elements"):
        load_body_file(huge)


def test_npz_with_pickled_objects_is_refused(tmp_path):
    path = tmp_path / "body.npz"
    np.savez(path, weird=np.array([{"a": 1}], dtype=object))
    with pytest.raises(UnsafeBodyFileError, match="pickled objects"):
        load_body_file(path)


@pytest.mark.parametrize("content", [b"", b"not a pickle at all", pickle.dumps([1, 2, 3])])
def test_corrupt_or_odd_files_give_a_format_error(tmp_path, content):
    path = tmp_path / "broken.pkl"
    path.write_bytes(content)
    with pytest.raises(BodyFileFormatError):
        load_body_file(path)


def test_missing_file_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_body_file(tmp_path / "nope.pkl")


def test_a_folder_given_as_the_body_says_it_is_a_folder(tmp_path):
    with pytest.raises(BodyFileFormatError, match=r"is a folder, not a body model file.*inside it"):
        load_body_file(tmp_path)


@pytest.mark.parametrize("name", ["evil\n.pkl", "nul\x00byte.pkl", "colour\x1b[31m.pkl"])
def test_a_body_path_with_control_characters_is_refused(tmp_path, name):
    with pytest.raises(BodyFileFormatError, match=r"control characters.*rename"):
        load_body_file(f"{tmp_path}/{name}")


def test_an_overlong_body_path_is_refused(tmp_path):
    with pytest.raises(BodyFileFormatError, match=r"5008 characters long"):
        load_body_file("x" * 5000 + ".pkl.pkl")


def test_a_device_is_not_read_as_a_body():
    with pytest.raises(BodyFileFormatError, match=r"/dev/null is not a regular file"):
        load_body_file("/dev/null")


def test_the_cached_body_loader_refuses_a_hostile_path_before_touching_it():
    from hkmr_studio.body.model import load_body_model

    with pytest.raises(BodyFileFormatError, match="control characters"):
        load_body_model("SMPL\x00NEUTRAL.pkl")
