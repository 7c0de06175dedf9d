"""The chain inspector in the window: step through the trace and see the pose of each pass over the photo and in
3D, read each joint's update per chain, highlight a chain, and switch to the HMR baseline's trace of the same photo."""

import numpy as np
from conftest import SAMPLE_PHOTO

from hkmr_studio.body import kinematics
from hkmr_studio.export.frames import camera_to_yup
from hkmr_studio.nets.hkmr import HKMRRegressor
from hkmr_studio.nets.hmr import HMRRegressor
from hkmr_studio.pipeline.core import Pipeline
from hkmr_studio.trace_steps import start_pose, trace_bodies

WAIT_MS = 60_000


def test_stepping_the_trace_moves_the_skeleton_in_both_views(qtbot, window):
    with qtbot.waitSignals([window.inference.analysed, window.inference.idle], order="strict", timeout=WAIT_MS):
        window.open_paths([SAMPLE_PHOTO])
    inspector = window.analysis_docks.chain_inspector
    with qtbot.waitSignal(inspector.ready, timeout=WAIT_MS):
        window.analysis_docks.docks["inspector"].show()
    assert [inspector.model_box.itemText(i) for i in range(2)] == ["untrained-test-hkmr", "hmr"]
    bodies = inspector.bodies
    assert inspector.slider.maximum() == len(bodies.entries) - 1 and len(bodies.entries) > 2
    skeleton = inspector.skeleton
    inspector.slider.setValue(0)
    first_3d = skeleton.actor_points().copy()
    first_2d = [item.line() for item in skeleton.layer.childItems()]
    inspector.slider.setValue(1)
    second_3d = skeleton.actor_points().copy()
    assert np.allclose(first_3d, camera_to_yup(bodies.joints3d[0]), atol=1e-5)
    assert np.allclose(second_3d, camera_to_yup(bodies.joints3d[1]), atol=1e-5)
    assert not np.allclose(first_3d, second_3d)
    assert len(first_2d) == 23 and [item.line() for item in skeleton.layer.childItems()] != first_2d
    assert inspector.entry_label.text().startswith(bodies.entries[1].label)
    arm = kinematics.CHAINS.index(kinematics.CHAIN_BY_NAME["left_arm"])
    elbow = kinematics.CHAIN_BY_NAME["left_arm"].joints.index(kinematics.JOINT_INDEX["left_elbow"])
    arm_item = inspector.tree.topLevelItem(arm)
    expected = bodies.update_deg[1, kinematics.JOINT_INDEX["left_elbow"]]
    assert arm_item.child(elbow).text(1) == f"{expected:.1f}"
    # selecting a chain keeps its colour and greys the others, in both views
    arm_item.setSelected(True)
    widths = {item.pen().width() for item in skeleton.layer.childItems()}
    assert widths == {3, 5}
    colors = window.viewport.plotter.actors["step_skeleton"].mapper.dataset.cell_data["bone_rgb"]
    assert len({tuple(c) for c in colors}) == 2  # the arm's colour and grey
    # the HMR baseline's trace of the same keypoints: one pass per iteration, shown at its last entry (the final body)
    inspector.model_box.setCurrentIndex(1)
    assert inspector.bodies.model_name == "hmr" and inspector.bodies.entries[0].label == "iteration 1"
    assert inspector.entry_label.text().startswith("final: averaged")
    assert np.allclose(skeleton.actor_points(), camera_to_yup(inspector.bodies.joints3d[-1]), atol=1e-5)


def test_opening_the_inspector_reads_the_windows_trace_and_runs_only_the_baseline(qtbot, window, monkeypatch,
                                                                                untrained_model_path):
    calls = {HKMRRegressor: 0, HMRRegressor: 0}
    for regressor in calls:
        monkeypatch.setattr(regressor, "forward", counted(regressor.forward, calls, regressor))
    with qtbot.waitSignals([window.inference.analysed, window.inference.idle], order="strict", timeout=WAIT_MS):
        window.open_paths([SAMPLE_PHOTO])
    assert calls[HKMRRegressor] > 0  # the window's model ran, and the count sees it
    calls.update(dict.fromkeys(calls, 0))
    inspector = window.analysis_docks.chain_inspector
    with qtbot.waitSignal(inspector.ready, timeout=WAIT_MS):
        window.analysis_docks.docks["inspector"].show()
    assert calls[HKMRRegressor] == 0 and calls[HMRRegressor] > 0  # only the baseline ran
    # the same numbers as tracing a fresh run of the window's model on the same keypoints
    result = window.state.current.analysis.result
    pipeline = Pipeline(untrained_model_path, device="cpu")
    fresh = trace_bodies(pipeline.run(result.image, keypoints=result.keypoints), pipeline.body,
                         start_pose(pipeline.model.net.regressor.mean))
    bodies = inspector.bodies
    assert bodies.model_name == "untrained-test-hkmr" and [e.label for e in bodies.entries] == [
        e.label for e in fresh.entries]
    assert np.allclose(bodies.update_deg, fresh.update_deg, atol=1e-3)
    assert np.allclose(bodies.joints3d, fresh.joints3d, atol=1e-5)
    last = len(fresh.entries) - 1
    for row, chain in enumerate(kinematics.CHAINS):
        expected = fresh.chain_updates_deg(last)[chain.name].sum()
        assert inspector.tree.topLevelItem(row).text(1) == f"Σ {expected:.1f}"


def counted(forward, calls, regressor):
    """`forward`, counting its calls in calls[regressor]."""
    def counting(*args, **kwargs):
        calls[regressor] += 1
        return forward(*args, **kwargs)
    return counting
