"""LatestJob: one job at a time; a job submitted meanwhile waits, replacing any waiting one; only the newest reports."""

import threading

from hkmr_studio.gui.workers import LatestJob


def test_jobs_submitted_while_one_runs_collapse_to_the_newest_and_only_it_is_reported(qtbot):
    release = threading.Event()
    ran: list[int] = []
    done: list[tuple[int, int]] = []

    def work(job: int) -> int:
        if job == 1:
            release.wait(10)
        ran.append(job)
        return job * 10

    jobs: LatestJob[int, int] = LatestJob(work, lambda job, value: done.append((job, value)), lambda exc: None)
    jobs.submit(1)
    assert jobs.running
    jobs.submit(2)
    jobs.submit(3)  # replaces 2, which never runs
    release.set()
    qtbot.waitUntil(lambda: done == [(3, 30)] and not jobs.running, timeout=10_000)
    assert ran == [1, 3]  # job 1 ran, but a newer job was waiting when it returned: not reported
    jobs.close()


def test_a_failure_is_reported_and_nothing_is_reported_after_close(qtbot):
    failures: list[Exception] = []
    done: list[int] = []
    release = threading.Event()

    def work(job: int) -> int:
        if job == 1:
            raise ValueError("broken photo")
        release.wait(10)
        return job

    jobs: LatestJob[int, int] = LatestJob(work, lambda job, value: done.append(job), failures.append)
    jobs.submit(1)
    qtbot.waitUntil(lambda: len(failures) == 1 and not jobs.running, timeout=10_000)
    assert str(failures[0]) == "broken photo"
    jobs.submit(2)
    release.set()
    jobs.close()
    qtbot.wait(50)
    assert done == [] and jobs.closed
