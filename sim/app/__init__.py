"""The workshop web app (Solara) and its launcher; depends on the simulator, never the reverse."""
