"""Messages for failures in the window: what went wrong and where to look."""

from hkmr_studio.gui.analysis import explain_error, is_bug
from hkmr_studio.render.overlay import RenderError


def test_a_blank_render_is_an_expected_failure_whose_message_says_what_to_do():
    exc = RenderError("the body could not be rendered (VTK returned an empty picture). Run again")
    assert not is_bug(exc)
    message = explain_error(exc)
    assert message.startswith("The overlay was not drawn: the body could not be rendered")
    assert "Unexpected" not in message


def test_an_unexpected_error_says_where_its_details_are():
    message = explain_error(ZeroDivisionError("division by zero"))
    assert message.startswith("Unexpected error (ZeroDivisionError: division by zero)")
    assert "Help ▸ Open Log Folder" in message
