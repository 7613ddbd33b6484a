"""The web app's server process: ``solara run`` with the Host/Origin guard around Solara's ASGI app.

Started by ``escalation app`` as ``python -m sim.app.server run PAGE --host H --port P ...``
(the arguments of ``solara run``). The hosts a request may name come from
``ESCALATION_ALLOWED_HOSTS`` (comma-separated ``host:port``), set by ``escalation app``.
"""

from __future__ import annotations

import os
import sys

from sim.app.guard import HostOriginGuard

SOLARA_APP = "solara.server.starlette:app"


def install_guard(hosts: list[str]) -> None:
    """Wrap Solara's app in the guard when uvicorn imports it (uvicorn resolves the app by name)."""
    import uvicorn.config

    original = uvicorn.config.import_from_string

    def import_guarded(import_str):
        app = original(import_str)
        return HostOriginGuard(app, hosts) if import_str == SOLARA_APP else app

    uvicorn.config.import_from_string = import_guarded


def main() -> None:
    """Run Solara's CLI with the guard installed."""
    hosts = [h for h in os.environ.get("ESCALATION_ALLOWED_HOSTS", "").split(",") if h]
    if not hosts:
        print("escalation: error: app: no allowed hosts (start the app with `escalation app`)", file=sys.stderr)
        raise SystemExit(2)
    install_guard(hosts)
    from solara.__main__ import main as solara_main

    sys.argv = ["solara", *sys.argv[1:]]
    solara_main()


if __name__ == "__main__":
    main()
