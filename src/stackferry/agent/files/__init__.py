"""The file mover: a directory or a Docker named volume moved between two agents by rsync's
own protocol, carried in one bidirectional gRPC stream (DESIGN.md, "Moving files").

The sending agent runs the rsync client (the sender); its "remote shell" is the shim, which
hands the agent the two pipe ends rsync talks through. The receiving agent runs
`rsync --server` into the target. Each agent builds its own command line (rsync_argv.py);
only a path it checked itself, or a volume's mountpoint the engine reports, is variable.
"""
