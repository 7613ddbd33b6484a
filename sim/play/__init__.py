"""Playing the model: one side's decisions taken by people, saves, and the workshop.

- ``game``: a game (``Game``) in which players take one side's decisions at the model's decision points;
- ``saves``: saved games and their settings (read as untrusted data, checked field by field);
- ``workshop``: multi-team tables (teams in their own browsers, a control cell, join codes);
- ``playdata``: ``escalation workshop plan | dataset | analyse``, randomised tables and the play dataset;
- ``terminal``: ``escalation play``, the game on the terminal.

May import ``sim.run``, ``sim.analysis`` and ``sim.core``; not ``sim.studies`` (the two are independent).
"""
