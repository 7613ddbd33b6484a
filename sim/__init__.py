"""NATO–Russia incident escalation simulator.

`sim.core` holds the agent-based model and knows nothing of files, the command line or plots.
Everything else in this package (scenario loading, Hydra configuration, outputs, figures, CLI)
depends on the core, never the reverse.
"""

__version__ = "0.1.0"
