"""The web app's server process: ``solara run`` with the Host/Origin guard around Solara's ASGI app.

Started by ``escalation app`` as ``python -m sim.app.server run PAGE --host H --port P ...``
(the arguments of ``solara run``). The hosts a request may name come from
``ESCALATION_ALLOWED_HOSTS`` (comma-separated ``host:port``), set by ``escalation app``.
"""

from __future__ import annotations

import os
import signal
import sys

SOLARA_APP = "solara.server.starlette:app"


def install_guard(hosts: list[str]) -> None:
    """Wrap Solara's app in the guard when uvicorn imports it (uvicorn resolves the app by name)."""
    import uvicorn.config

    original = uvicorn.config.import_from_string

    def import_guarded(import_str):
        app = original(import_str)
        return _guard(app, hosts) if import_str == SOLARA_APP else app

    uvicorn.config.import_from_string = import_guarded


def main() -> int:
    """Run Solara's CLI with the guard installed; a Ctrl-C at any moment is one line and exit code 130.

    ``escalation app`` blocks SIGINT before it becomes this process (the mask survives ``exec``),
    so a Ctrl-C during the interpreter's start waits until here, where it is handled.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # a pending Ctrl-C arrives now, inside the try
        hosts = [h for h in os.environ.get("ESCALATION_ALLOWED_HOSTS", "").split(",") if h]
        if not hosts:
            print("escalation: error: app: no allowed hosts (start the app with `escalation app`)", file=sys.stderr)
            return 2
        install_guard(hosts)
        from solara.__main__ import cli

        # Not cli(...): click's main would print its own lines on a Ctrl-C (uvicorn re-raises it after
        # shutting down); invoked this way the KeyboardInterrupt comes here.
        with cli.make_context("solara", sys.argv[1:]) as ctx:
            cli.invoke(ctx)
    except KeyboardInterrupt:
        sys.stderr.write("escalation: interrupted\n")
        return 130
    return 0


def _guard(app, hosts):
    from sim.app.guard import HostOriginGuard

    return HostOriginGuard(app, hosts)


if __name__ == "__main__":
    sys.exit(main())
