"""The HKMR Studio window (PySide6, pyvistaqt, superqt). Nothing outside this package imports it.

Qt-free modules here (state, analysis, capture) hold what the widgets observe and run; the Qt modules only show it
and send the user's requests back. `hkmr-studio [IMAGE ...]` opens the window through `app.run`.
"""
