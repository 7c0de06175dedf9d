"""The CMU subsets (training/mocap/cmu_subsets.py): the BVH and expmap readers on tiny files written here and on real
clips from ../shared/data/mocap when it is there; their joint maps; the pitfall filters; safe unpacking; and, after
the retarget fit, a standing frame of each rig upright and of a person's height."""

from __future__ import annotations

import io
import json
import math
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from hkmr_studio.body import kinematics
from hkmr_studio.resources import embedded_body_path
from training.mocap import cmu_subsets, expmap, filters, mapping
from training.mocap.bvh import load_bvh
from training.mocap.card import ClipStats, LeftOut, write_card
from training.mocap.categories import category
from training.mocap.cmu_skeleton import THORAX_CHILDREN, restore_thorax
from training.mocap.motion import JointClip

SUBSETS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mocap"
needs_subsets = pytest.mark.skipif(not SUBSETS.is_dir(), reason=f"the CMU subsets are not at {SUBSETS}")
needs_body = pytest.mark.skipif(not embedded_body_path().exists(), reason="models/body/SMPL_OPEN_NEUTRAL.pkl is absent")
J = kinematics.JOINT_INDEX

# A hip with one leg, and a spine with an end site: two channel orders, offsets in cm.
BVH = """\
HIERARCHY
ROOT hip
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
  JOINT lThigh
  {
    OFFSET 10 -5 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT lShin
    {
      OFFSET 0 -40 0
      CHANNELS 3 Zrotation Xrotation Yrotation
      End Site
      {
        OFFSET 0 -42 0
      }
    }
  }
  JOINT chest
  {
    OFFSET 0 30 0
    CHANNELS 3 Zrotation Yrotation Xrotation
    End Site
    {
      OFFSET 0 20 0
    }
  }
}
MOTION
Frames: 3
Frame Time: 0.033333
0 90 0 0 0 0 0 0 0 0 0 0 0 0 0
0 90 0 0 0 0 0 -90 0 0 0 0 0 0 0
5 92 -3 10 30 -20 40 10 -30 90 20 -10 15 -5 10
"""


def _bone_spread(clip: JointClip) -> float:
    """The largest standard deviation over frames of any bone's length, metres."""
    return float(clip.bone_lengths().std(axis=0).max())


def test_bvh_reader_scales_to_metres_keeps_end_sites_and_rigid_bones(tmp_path: Path) -> None:
    path = tmp_path / "tiny.bvh"
    path.write_text(BVH)
    clip = load_bvh(path, 0.01)
    assert clip.names == ("hip", "lThigh", "lShin", "EndSitelShin", "chest", "EndSitechest")
    assert clip.parents == (-1, 0, 1, 2, 0, 4)
    assert clip.positions.shape == (3, 6, 3)
    np.testing.assert_allclose(clip.bone_lengths(), np.tile([math.hypot(0.1, 0.05), 0.40, 0.42, 0.30, 0.20], (3, 1)))
    assert _bone_spread(clip) < 1e-12
    np.testing.assert_allclose(clip.positions[0, 3], [0.1, 0.9 - 0.05 - 0.40 - 0.42, 0.0], atol=1e-12)
    # Xrotation -90 on lThigh (ZXY channels) swings the leg from straight down to straight forward (+Z): hip flexion.
    np.testing.assert_allclose(clip.positions[1, 2] - clip.positions[1, 1], [0.0, 0.0, 0.40], atol=1e-12)
    np.testing.assert_allclose(clip.positions[1, 3] - clip.positions[1, 2], [0.0, 0.0, 0.42], atol=1e-12)
    assert clip.times[1] == pytest.approx(1 / 30)
    assert load_bvh(path, 0.01, fps=120.0).times[2] == pytest.approx(2 / 120)


def _expmap_files(tmp_path: Path, rows: np.ndarray) -> tuple[Path, Path]:
    """A skeleton JSON shaped like CMU's (38 joints: each at 1 unit along +Y from its parent, chains as the file
    has them) and a CSV of `rows`."""
    real = {"parent": [-1, 0, 1, 2, 3, 4, 5, 0, 7, 8, 9, 10, 11, 0, 13, 14, 15, 16, 17, 18, 15, 20, 21, 22, 23, 24, 25,
                       23, 27, 15, 29, 30, 31, 32, 33, 34, 32, 36]}
    offsets = [[0.0, 0.0, 0.0]] + [[0.0, 1.0, 0.0]] * 37
    for name in THORAX_CHILDREN:  # CMU's BVH skeleton gives its thorax length 0
        offsets[expmap.JOINT_NAMES.index(name)] = [0.0, 0.0, 0.0]
    skeleton, motion = tmp_path / "skeleton.json", tmp_path / "clip.txt"
    skeleton.write_text(json.dumps({**real, "offset": offsets}))
    np.savetxt(motion, rows, delimiter=",")
    return skeleton, motion


def test_expmap_reader_follows_the_row_vector_convention_with_rigid_bones(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = np.zeros((4, 117))
    rows[:, :3] = [[1.0, 17.0, -2.0]] * 4
    rows[1:, 3:] = rng.normal(scale=0.6, size=(3, 114))
    rows[3, 3:] = 0.0
    rows[3, 3:6] = [0.0, 0.0, math.pi / 2]  # the root turned 90 degrees about +Z, nothing else
    skeleton_path, motion = _expmap_files(tmp_path, rows)
    clip = expmap.load_expmap(motion, expmap.load_skeleton(skeleton_path))
    unit = expmap.METRES_PER_UNIT
    assert clip.positions.shape == (4, 38, 3) and clip.names == expmap.JOINT_NAMES
    np.testing.assert_allclose(clip.positions[:, 0], np.array([[1.0, 17.0, -2.0]] * 4) * unit)  # columns 0, 1, 2
    assert _bone_spread(clip) < 1e-12
    np.testing.assert_allclose(clip.times, np.arange(4) / 120.0)
    # Row vectors: a child's offset (0, 1, 0) times the parent's rotation about Z by +90 degrees lands on +X.
    np.testing.assert_allclose(clip.positions[3, 1] - clip.positions[3, 0], [unit, 0.0, 0.0], atol=1e-12)


def test_restore_thorax_puts_the_neck_and_collars_one_thorax_offset_up(tmp_path: Path) -> None:
    skeleton_path, motion = _expmap_files(tmp_path, np.zeros((1, 117)))
    skeleton = expmap.load_skeleton(skeleton_path)
    rest = expmap.load_expmap(motion, skeleton).positions[0]
    restored = expmap.load_expmap(motion, skeleton.repaired(restore_thorax)).positions[0]
    thorax = expmap.JOINT_NAMES.index("thorax")
    for name in THORAX_CHILDREN:
        child = expmap.JOINT_NAMES.index(name)
        np.testing.assert_allclose(rest[child], rest[thorax])
        np.testing.assert_allclose(restored[child] - restored[thorax], [0.0, expmap.METRES_PER_UNIT, 0.0])


def _assert_real_smpl_joints(table: mapping.JointMap, names: tuple[str, ...]) -> None:
    assert {row[0] for row in table.rows} <= set(names)
    smpl = [row[1] for row in table.rows]
    assert len(set(smpl)) == len(smpl) and set(smpl) <= set(kinematics.JOINT_NAMES)
    mirrored = {kinematics.JOINT_NAMES[kinematics.MIRROR_PERMUTATION[J[n]]] for n in smpl}
    assert mirrored == set(smpl)
    assert all(0.0 < row[2] <= 1.0 for row in table.rows)


def test_cmu_bvh_map_names_real_joints_of_both_sides() -> None:
    _assert_real_smpl_joints(mapping.CMU_BVH, expmap.JOINT_NAMES)


def _targets(positions: np.ndarray) -> np.ndarray:
    """(F, 3) pelvis path -> (F, 24, 3) targets: a rigid body of fixed offsets carried along it."""
    offsets = np.random.default_rng(1).normal(scale=0.3, size=(24, 3))
    offsets[J["pelvis"]] = 0.0
    return positions[:, None, :] + offsets[None]


def test_glitch_filter_drops_pops_and_what_lies_between_close_ones() -> None:
    fps, frames = 30.0, 90
    walk = np.stack([np.linspace(0, 3, frames), np.full(frames, 1.0), np.zeros(frames)], axis=1)
    targets = _targets(walk)
    weights = mapping.CMU_BVH.weights()
    targets[:, J["left_knee"], 2] += 0.05 * np.sin(np.arange(frames) / 3)  # a swinging knee: smooth, 6 m/s^2
    assert not filters.glitch_frames(targets, weights, fps).any()
    popped = targets.copy()
    popped[[20, 30, 70], J["left_knee"], 2] += 0.3  # 30 cm pops: 270 m/s^2 and more
    dropped = np.flatnonzero(filters.glitch_frames(popped, weights, fps))
    np.testing.assert_array_equal(dropped, [*range(19, 32), 69, 70, 71])  # 20 and 30 are 0.33 s apart
    unmapped = targets.copy()
    unmapped[40, J["left_collar"], 2] += 0.3  # CMU's BVH map has no collar
    assert not filters.glitch_frames(unmapped, weights, fps).any()


def test_near_duplicates_ignore_where_the_person_stands_and_faces() -> None:
    pose = _targets(np.zeros((1, 3)))[0]
    turn = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])  # 90 degrees about Y
    other = pose.copy()
    other[J["left_wrist"]] += [0.0, 0.1, 0.0]
    frames = np.stack([pose, pose @ turn.T + [2.0, 0.0, -1.0], pose + [0.0, 0.0, 0.005], other])
    np.testing.assert_array_equal(filters.near_duplicates(frames, mapping.CMU_BVH.weights(), 0.02),
                                  [False, True, True, False])


def _clip(source: str, name: str, trial: str) -> cmu_subsets.SourceClip:
    return cmu_subsets.SourceClip(source, name, trial, "", Path(name), "")


def test_each_trial_is_read_once_from_the_preferred_archive_and_named_skips_hold() -> None:
    clips = [
        _clip("cmu_iclone", "001_01", "01_01"),
        _clip("cmu_iclone", "002_01", "02_01"),
        _clip("cmu_daz", "02_01", "02_01"),
        _clip("cmu_daz", "13_11", "13_11"),
        _clip("cmu_daz", "08_01", "08_01"),
        _clip("cmu_daz", "07_12", "07_12"),
        _clip("cmu_expmap", "train/walking_1", cmu_subsets.EXPMAP_TRIALS["train/walking_1"]),
        _clip("cmu_expmap", "train/jumping_1", cmu_subsets.EXPMAP_TRIALS["train/jumping_1"]),
        _clip("cmu_expmap", "train/soccer_1", ""),
    ]
    read_from = cmu_subsets.choose_sources(clips)
    left_out = {c.name for c in clips if cmu_subsets.pitfall(c, read_from)}
    assert left_out == {"001_01", "07_12", "train/walking_1", "13_11"} | {"02_01"}
    kept = [(c.source, c.name) for c in clips if not cmu_subsets.pitfall(c, read_from)]
    assert kept == [("cmu_iclone", "002_01"), ("cmu_daz", "08_01"), ("cmu_expmap", "train/jumping_1"),
                    ("cmu_expmap", "train/soccer_1")]


def test_categories_take_the_first_matching_word() -> None:
    assert category("dance - small jetes, pirouette") == "dance"
    assert category("dance - cartwheel-like start, pirouettes, jete") == "dance"
    assert category("basketball signal") == "signalling, directing traffic"
    assert category("jump up to grab, reach for, tiptoe") == "bending, reaching"
    assert category("playground - climb, sit, dangle legs, jump down") == "sitting on a ledge"
    assert category("forward jump") == "jumps"
    assert category("run/jog") == "walking, running"
    assert category("tai chi") == "other"


def test_card_counts_poses_per_source_and_category_and_lists_what_was_left_out(tmp_path: Path) -> None:
    def stats(source: str, clip: str, group: str, kept: int) -> ClipStats:
        return ClipStats(source, clip, group, 400, 120.0, 100, 3, 7, 90, kept, np.full(24, 20.0))

    clips = [stats("cmu_iclone", "005_02", "dance", 150), stats("cmu_iclone", "006_02", "sports", 170),
             stats("cmu_expmap", "train/soccer_1", "sports", 30)]
    left_out = [LeftOut("cmu_daz", "07_12", "corrupt")]
    write_card(tmp_path / "card.md", clips, left_out, Path("archives"), 350, 30.0, 0.02, 60.0)
    card = (tmp_path / "card.md").read_text()
    assert "| category | cmu_iclone | cmu_expmap | all sources |" in card
    assert "| sports | 170 | 30 | 200 |" in card and "| dance | 150 |  | 150 |" in card
    assert "| all | 320 | 30 | 350 |" in card
    assert "| cmu_daz | 07_12 | corrupt |" in card and "this build read `archives`" in card
    assert "| deepmimic |" not in card  # only the sources the build used


def _archive(path: Path, members: dict[str, bytes], link: str | None = None) -> None:
    with tarfile.open(path, "w:xz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        if link is not None:
            info = tarfile.TarInfo(link)
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            archive.addfile(info)


def _folder(tmp_path: Path, bad: dict[str, bytes] | None = None, link: str | None = None) -> Path:
    folder = tmp_path / "archives"
    folder.mkdir()
    for source, name in cmu_subsets.ARCHIVES.items():
        members = {f"repo/{source}.txt": source.encode()}
        _archive(folder / name, {**members, **(bad or {})} if source == "cmu_daz" else members,
                 link if source == "cmu_daz" else None)
    (folder / cmu_subsets.EXPMAP_SKELETON).write_text("{}")
    return folder


def test_unpack_writes_only_inside_the_cache_and_refuses_escaping_members(tmp_path: Path) -> None:
    unpacked = cmu_subsets.unpack(_folder(tmp_path), tmp_path / "cache")
    assert (unpacked["cmu_daz"] / "repo" / "cmu_daz.txt").read_text() == "cmu_daz"
    for bad, link in (({"../escaped.txt": b"x"}, None), ({"/tmp/absolute.txt": b"x"}, None), (None, "repo/link")):
        case = tmp_path / f"case{len(list(tmp_path.iterdir()))}"
        case.mkdir()
        with pytest.raises(ValueError, match="cmu_daz_bvh.tar.xz"):
            cmu_subsets.unpack(_folder(case, bad, link), case / "cache")
    assert not (tmp_path / "escaped.txt").exists()


def test_a_missing_folder_archive_or_listing_is_refused_saying_what_to_pass(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="pass the folder holding cmu_iclone_bvh.tar.xz"):
        cmu_subsets.unpack(tmp_path / "nowhere", tmp_path / "cache")
    folder = _folder(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"cmu_iclone_bvh.tar.xz holds no \*/CMU data.csv"):
        cmu_subsets.list_clips(cmu_subsets.unpack(folder, tmp_path / "cache"))
    (folder / "cmu_expmap_txt.tar.xz").unlink()
    with pytest.raises(FileNotFoundError, match=r"lacks cmu_expmap_txt.tar.xz \(see training/README.md"):
        cmu_subsets.unpack(folder, tmp_path / "cache")


def test_prepare_poses_refuses_a_missing_subsets_folder_before_downloading(tmp_path: Path, capsys) -> None:
    from training.__main__ import main as training_main

    status = training_main(["prepare-poses", "--cmu-subsets", str(tmp_path / "nowhere"), "--cache",
                            str(tmp_path / "cache"), "--out", str(tmp_path / "out")])
    assert status == 2 and "pass the folder holding cmu_iclone_bvh.tar.xz" in capsys.readouterr().err
    assert not (tmp_path / "cache").exists() and not (tmp_path / "out").exists()


# Real clips: early members of each archive, read from the stream without unpacking the rest.
REAL = {
    "cmu_iclone": ("All_BVH/subjects/007/007_01.bvh", "All_BVH/subjects/007/007_03.bvh"),
    "cmu_daz": ("data/03/03_01.bvh",),
    "cmu_expmap": ("data/cmu/test/running/running_1.txt", "data/cmu/test/soccer/soccer_1.txt"),
}


@pytest.fixture(scope="module")
def real_clips(tmp_path_factory) -> dict[str, Path]:
    """Member path (as in REAL) -> the file, copied out of the archives."""
    folder, found = tmp_path_factory.mktemp("cmu"), {}
    for source, wanted in REAL.items():
        with tarfile.open(SUBSETS / cmu_subsets.ARCHIVES[source], "r|xz") as archive:
            for member in archive:
                suffix = member.name.split("/", 1)[-1]
                if suffix in wanted:
                    found[suffix] = folder / suffix.replace("/", "_")
                    found[suffix].write_bytes(archive.extractfile(member).read())
                if all(w in found for w in wanted):
                    break
    return found


def _real(real_clips: dict[str, Path], member: str) -> cmu_subsets.SourceClip:
    source = next(s for s, members in REAL.items() if member in members)
    rig = {"cmu_iclone": "iclone", "cmu_daz": "daz", "cmu_expmap": "expmap"}[source]
    name = member.rsplit("/", 1)[-1].removesuffix(".bvh").removesuffix(".txt")
    return cmu_subsets.SourceClip(source, name, "", "", real_clips[member], rig)


def _expmap_skeleton() -> expmap.ExpmapSkeleton:
    return expmap.load_skeleton(SUBSETS / cmu_subsets.EXPMAP_SKELETON).repaired(restore_thorax)


@needs_subsets
@pytest.mark.parametrize("member", [m for members in REAL.values() for m in members])
def test_real_clips_have_constant_bone_lengths(real_clips: dict[str, Path], member: str) -> None:
    joints, joint_map = cmu_subsets.read(_real(real_clips, member), _expmap_skeleton())
    assert len(joints.times) > 100 and _bone_spread(joints) < 1e-9
    _assert_real_smpl_joints(joint_map, joints.names)


@needs_subsets
def test_real_lead_in_and_glitches_are_dropped(real_clips: dict[str, Path]) -> None:
    """The Daz clip opens with a T-pose (wrists level with the shoulders, far apart) and 4 blending frames; the
    expmap file with the rest pose; IClone's 007_03 with a stray frame 0 that the glitch filter drops."""
    daz = cmu_subsets.SourceClip("cmu_daz", "03_01", "", "", real_clips["data/03/03_01.bvh"], "daz")
    raw = load_bvh(daz.path, cmu_subsets.CM)
    t_pose = mapping.DAZ.targets(raw.names, raw.positions[:1])[0]
    assert abs(t_pose[J["left_wrist"], 1] - t_pose[J["left_shoulder"], 1]) < 0.05
    assert np.linalg.norm(t_pose[J["left_wrist"]] - t_pose[J["right_wrist"]]) > 1.2
    skeleton = _expmap_skeleton()
    first = cmu_subsets.clip_targets(daz, skeleton, 30.0)
    assert first.frames[0] == cmu_subsets.LEAD_IN_FRAMES["daz"] == 5
    running = cmu_subsets.clip_targets(_real(real_clips, "data/cmu/test/running/running_1.txt"), skeleton, 30.0)
    assert running.frames[0] == 1 and running.glitches == 0
    stray = cmu_subsets.clip_targets(_real(real_clips, "All_BVH/subjects/007/007_03.bvh"), skeleton, 30.0)
    walk = cmu_subsets.clip_targets(_real(real_clips, "All_BVH/subjects/007/007_01.bvh"), skeleton, 30.0)
    assert 0 not in stray.frames and 0 < stray.glitches <= 3
    assert walk.glitches == 0 and walk.frames[0] == 0


def _angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angles between (..., 3) vectors, degrees."""
    cosine = (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
    return np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))


def _standing(targets: np.ndarray) -> int:
    """A standing frame: of the frames whose source torso (pelvis to neck target) is within 10 degrees of +Y, the
    one whose legs are straightest (the larger of its two knee bends smallest)."""
    def bend(side: str) -> np.ndarray:
        hip, knee, ankle = (targets[:, J[f"{side}_{n}"]] for n in ("hip", "knee", "ankle"))
        return _angle_deg(knee - hip, ankle - knee)

    upright = _angle_deg(targets[:, J["neck"]] - targets[:, J["pelvis"]], np.array([0.0, 1.0, 0.0])) < 10.0
    assert upright.any(), "no frame with an upright torso: is the rig's up axis +Y?"
    knees = np.where(upright, np.maximum(bend("left"), bend("right")), np.inf)
    return int(np.argmin(knees))


@needs_subsets
@needs_body
@pytest.mark.parametrize("member", ["All_BVH/subjects/007/007_01.bvh", "data/03/03_01.bvh",
                                    "data/cmu/test/soccer/soccer_1.txt"])
def test_fitted_standing_frame_is_upright_and_of_a_persons_height(real_clips: dict[str, Path], member: str) -> None:
    """The body fitted to each rig's straightest-legged frame: the pelvis-to-neck line within 15 degrees of +Y and
    the mesh 1.6-1.9 m from sole to crown (measured: IClone's one figure 1.86 m, Daz 1.65, CMU's skeleton 1.72)."""
    from hkmr_studio.body.model import load_body_model
    from training.mocap.retarget import fit_clip

    clip = cmu_subsets.clip_targets(_real(real_clips, member), _expmap_skeleton(), 30.0)
    frame = _standing(clip.targets)
    body = load_body_model()
    fit = fit_clip(body, torch.from_numpy(clip.targets[frame : frame + 1]).float(),
                   torch.from_numpy(clip.weights).float())
    assert fit.residual_mm < 40.0
    with torch.no_grad():
        posed = body(fit.global_orient, fit.body_pose, fit.betas[None])
    spine = (posed.joints[0, J["neck"]] - posed.joints[0, J["pelvis"]]).numpy()
    assert _angle_deg(spine, np.array([0.0, 1.0, 0.0])) < 15.0
    height = float(posed.vertices[0, :, 1].max() - posed.vertices[0, :, 1].min())
    assert 1.6 < height < 1.9
