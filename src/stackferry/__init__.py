"""stackferry: move a running Docker Compose stack, with its data, to another host.

Packages: `api` (the generated gRPC contract, owned by neither daemon), `common` (config,
logging, metrics, TLS and gRPC helpers), `compose` (one pure compose semantics), `hostapi`
(the host facts both daemons speak of), `agent` (the daemon on every host), `controller`
(drives migrations), `cli` (the `stackferry` command, a client of the controller's API).
"""

__version__ = "0.1.0"
