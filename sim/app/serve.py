"""``escalation app``: serve the workshop web app with Solara, on 127.0.0.1 unless told otherwise.

The app's front-end files come from the ``solara-assets`` package installed with the ``app``
extra, so the page works with no internet (workshop venues, CI). Solara's telemetry is switched
off for the same reason. Requests must name a host the app is served under (``sim.app.guard``):
loopback names, the listening address, and any ``--allow-host`` the facilitator adds with
``--public``. ``--max-replications`` bounds what one page may ask for; ``--max-games`` and
``--max-participants`` bound the workshop games and the pages joined to them; ``--state-dir`` is
where workshop games are kept (so a restart of the app finds them).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from pathlib import Path

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8521
APP_TITLE = "NATO–Russia escalation workshop"  # the browser tab and the page
DEFAULT_MAX_REPLICATIONS = 2000
DEFAULT_MAX_GAMES = 12  # as sim.play.workshop (not imported here: the app extra may be missing)
DEFAULT_MAX_PARTICIPANTS = 60
DEFAULT_STATE_DIR = "workshop-games"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, no usage dump
        print(f"escalation: error: app: {message}", file=sys.stderr)
        raise SystemExit(2)


def server_command(host: str, port: int) -> list[str]:
    """The ``solara run`` command line for the app."""
    page = Path(__file__).with_name("page.py")
    return [
        sys.executable,
        "-m",
        "sim.app.server",
        "run",
        str(page),
        "--host",
        host,
        "--port",
        str(port),
        "--production",
        "--no-check-version",
    ]


def server_env(
    host: str = LOOPBACK,
    port: int = DEFAULT_PORT,
    allow: list[str] | None = None,
    max_replications: int = DEFAULT_MAX_REPLICATIONS,
    max_games: int = DEFAULT_MAX_GAMES,
    max_participants: int = DEFAULT_MAX_PARTICIPANTS,
    state_dir: str = DEFAULT_STATE_DIR,
) -> dict[str, str]:
    """Environment for the server: no telemetry, no CDN, assets from the install, the hosts and limits."""
    from sim.app.guard import allowed_hosts

    return {
        **os.environ,
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "SOLARA_TELEMETRY_SENTRY_ENABLE": "False",
        "SOLARA_CDN": "",
        # the browser tab names the project, and no "runs on Solara" badge sits over the page's last lines
        "SOLARA_THEME_TITLE": APP_TITLE,
        "SOLARA_THEME_SHOW_BANNER": "False",
        "MPLBACKEND": "Agg",
        "ESCALATION_ALLOWED_HOSTS": ",".join(sorted(allowed_hosts(host, port, allow or []))),
        "ESCALATION_MAX_REPLICATIONS": str(max_replications),
        "ESCALATION_MAX_GAMES": str(max_games),
        "ESCALATION_MAX_PARTICIPANTS": str(max_participants),
        "ESCALATION_STATE_DIR": str(Path(state_dir).resolve()),
    }


def machine_addresses() -> list[str]:
    """This machine's own addresses other than loopback (IPv4 and global IPv6), and its host name."""
    import socket

    found: set[str] = set()
    try:
        import psutil

        for entries in psutil.net_if_addrs().values():
            found.update(e.address.split("%")[0] for e in entries if e.family in (socket.AF_INET, socket.AF_INET6))
    except ImportError:
        for family, probe in ((socket.AF_INET, "192.0.2.1"), (socket.AF_INET6, "2001:db8::1")):
            try:  # the address a route out would use (a UDP "connect" sends nothing)
                with socket.socket(family, socket.SOCK_DGRAM) as sock:
                    sock.connect((probe, 9))
                    found.add(sock.getsockname()[0])
            except OSError:
                pass
        try:
            found.update(str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None))
        except OSError:
            pass
    addresses = []
    for text in sorted(found):
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            continue
        if not (ip.is_loopback or ip.is_unspecified or ip.is_link_local or ip.is_multicast):
            addresses.append(text)
    name = socket.gethostname()
    if addresses and name and name != "localhost" and all(c not in name for c in "/,:@ "):
        addresses.append(name.lower())
    return addresses


def app_command(args: list[str]) -> int:
    """Parse ``--port/--host/--public`` and replace this process with the Solara server."""
    parser = _Parser(prog="escalation app", add_help=True)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--host", default=LOOPBACK, help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--public", action="store_true", help="allow an address other than loopback")
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="with --public: a name or address participants use to reach the app (repeatable)",
    )
    parser.add_argument(
        "--max-replications",
        type=int,
        default=DEFAULT_MAX_REPLICATIONS,
        help=f"most replications one page may run at once (default {DEFAULT_MAX_REPLICATIONS})",
    )
    parser.add_argument(
        "--max-games",
        type=int,
        default=DEFAULT_MAX_GAMES,
        help=f"most workshop games the app holds (default {DEFAULT_MAX_GAMES})",
    )
    parser.add_argument(
        "--max-participants",
        type=int,
        default=DEFAULT_MAX_PARTICIPANTS,
        help=f"most pages joined to workshop games at once (default {DEFAULT_MAX_PARTICIPANTS})",
    )
    parser.add_argument(
        "--state-dir",
        default=DEFAULT_STATE_DIR,
        help=f"folder where workshop games are kept across restarts (default ./{DEFAULT_STATE_DIR})",
    )
    opts = parser.parse_args(args)
    if opts.allow_host and not opts.public:
        parser.error("--allow-host exposes the app to other machines' names: add --public if you mean it")
    for name in opts.allow_host:
        if not name or any(c in name for c in "/,:@ ") or len(name) > 253:
            parser.error(f"--allow-host {name!r}: give a host name or an IPv4 address, without port or scheme")
    if not 1 <= opts.max_replications <= 1_000_000:
        parser.error(f"--max-replications {opts.max_replications}: must be between 1 and 1000000")
    if not 1 <= opts.max_games <= 1000:
        parser.error(f"--max-games {opts.max_games}: must be between 1 and 1000")
    if not 1 <= opts.max_participants <= 10_000:
        parser.error(f"--max-participants {opts.max_participants}: must be between 1 and 10000")
    state = Path(opts.state_dir)
    if any(p.exists() and not p.is_dir() for p in (state, *state.parents)):
        parser.error(f"--state-dir {opts.state_dir}: a file is in the way (it must be a folder)")
    if not 1 <= opts.port <= 65535:
        parser.error(f"--port {opts.port}: must be between 1 and 65535")
    try:
        loopback = opts.host == "localhost" or ipaddress.ip_address(opts.host).is_loopback
    except ValueError:
        parser.error(f"--host {opts.host!r}: not an IP address")
    if not loopback and not opts.public:
        parser.error(f"--host {opts.host} would expose the app beyond this machine: add --public if you mean it")
    allow = list(opts.allow_host)
    served = f"http://{opts.host}:{opts.port}/"
    if not loopback and ipaddress.ip_address(opts.host).is_unspecified:
        # Listening on every interface: requests for this machine's own addresses are served too
        # (before, they were refused with 403 while the app said nothing).
        own = [a for a in machine_addresses() if a not in allow]
        if not own and not allow:
            parser.error(
                f"--host {opts.host}: this machine has no address but loopback to serve; "
                "name the one participants use with --allow-host NAME"
            )
        allow += own
        names = [f"[{a}]" if ":" in a else a for a in allow]
        served = ", ".join(f"http://{n}:{opts.port}/" for n in names) + f" (and http://127.0.0.1:{opts.port}/)"
    elif opts.public and not allow:
        served += " (requests naming any other host are refused: add --allow-host NAME for a name participants use)"
    try:
        import solara  # noqa: F401
    except ImportError:
        print("escalation: error: app: the web app needs the app extra: pip install -e '.[app]'", file=sys.stderr)
        return 2
    print(f"Escalation workshop app on {served}  (Ctrl-C to stop)", flush=True)
    cmd = server_command(opts.host, opts.port)
    import signal

    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})  # held until the server can answer it in one line
    env = server_env(
        opts.host,
        opts.port,
        allow,
        opts.max_replications,
        opts.max_games,
        opts.max_participants,
        opts.state_dir,
    )
    os.execve(cmd[0], cmd, env)
    return 0  # not reached
