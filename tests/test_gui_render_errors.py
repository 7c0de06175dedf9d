"""A blank render in the window is a message the user can act on, not an 'Unexpected error'."""

from hkmr_studio.gui.analysis import explain_error, is_bug
from hkmr_studio.render.overlay import RenderError


def test_a_blank_render_is_an_expected_failure_whose_message_says_what_to_do():
    exc = RenderError("the body could not be rendered (VTK returned an empty picture). Run again")
    assert not is_bug(exc)
    message = explain_error(exc)
    assert message.startswith("The overlay was not drawn: the body could not be rendered")
    assert "Unexpected" not in message
