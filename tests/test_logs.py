"""The rotating log file: where it lives, what reaches it, how it rotates, and what happens when it cannot be written."""

import logging
from logging.handlers import RotatingFileHandler

from hkmr_studio import logs
from hkmr_studio.logs import LOG_DIR_ENV, log_dir, log_file, start_log_file


def _file_handlers() -> list[RotatingFileHandler]:
    return [h for h in logging.getLogger().handlers if isinstance(h, RotatingFileHandler)]


def test_the_log_folder_is_platformdirs_user_log_folder_unless_overridden(tmp_path, monkeypatch):
    monkeypatch.delenv(LOG_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert log_dir() == tmp_path / "state" / "hkmr-studio" / "log"
    monkeypatch.setenv(LOG_DIR_ENV, str(tmp_path / "mine"))
    assert log_file() == tmp_path / "mine" / "hkmr-studio.log"


def test_an_error_logged_by_any_module_reaches_the_file_with_its_traceback(log_folder):
    assert start_log_file() == ""
    try:
        raise RuntimeError("boom in the worker")
    except RuntimeError as exc:
        logging.getLogger("hkmr_studio.gui.inference").error("analysis failed", exc_info=exc)
    logging.getLogger("hkmr_studio.gui.inference").info("routine progress")
    for handler in _file_handlers():
        handler.flush()
    text = (log_folder / "hkmr-studio.log").read_text(encoding="utf-8")
    assert "ERROR hkmr_studio.gui.inference: analysis failed" in text
    assert "Traceback (most recent call last)" in text and "RuntimeError: boom in the worker" in text
    assert "routine progress" not in text


def test_starting_the_log_twice_writes_each_record_once(log_folder):
    start_log_file()
    start_log_file()
    assert len(_file_handlers()) == 1
    logging.getLogger("hkmr_studio").warning("once only")
    _file_handlers()[0].flush()
    assert (log_folder / "hkmr-studio.log").read_text(encoding="utf-8").count("once only") == 1


def test_the_log_rotates_at_its_size_limit_keeping_a_few_old_files(log_folder, monkeypatch):
    monkeypatch.setattr(logs, "MAX_BYTES", 2_000)
    start_log_file()
    for i in range(200):
        logging.getLogger("hkmr_studio").error("record %03d %s", i, "x" * 60)
    names = sorted(p.name for p in log_folder.iterdir())
    assert names == ["hkmr-studio.log", *(f"hkmr-studio.log.{n}" for n in range(1, logs.BACKUPS + 1))]
    assert all(p.stat().st_size <= 2_000 for p in log_folder.iterdir())
    assert "record 199" in (log_folder / "hkmr-studio.log").read_text(encoding="utf-8")


def test_a_log_folder_that_cannot_be_made_is_a_message_naming_it_and_the_variable(log_folder, monkeypatch):
    log_folder.write_text("a file where the folder should be")
    problem = start_log_file()
    assert str(log_folder / "hkmr-studio.log") in problem and LOG_DIR_ENV in problem
    assert _file_handlers() == []
    assert log_folder.read_text() == "a file where the folder should be"


def test_doctor_reports_where_the_log_file_lives(log_folder, tmp_path, monkeypatch, capsys):
    from hkmr_studio import doctor

    monkeypatch.setenv("HKMR_STUDIO_CONFIG_DIR", str(tmp_path / "config"))
    doctor.main()
    assert f"log file: {log_folder / 'hkmr-studio.log'} (not written yet)" in capsys.readouterr().out
