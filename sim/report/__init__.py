"""Figures and reports for instructors: ``escalation report RUN_DIR [RUN_DIR ...]``.

``figures`` holds pure plot functions (tables in, an ``Axes`` out); ``build`` reads run folders
and writes the figures, ``report.md`` and a self-contained ``report.html``.
"""
