"""The sending rsync's "remote shell": hands the agent the two pipe ends rsync talks through.

rsync runs it as ``python shim.py FD HOST rsync --server ...``: FD is one end of a socket
pair the agent passed down to rsync. The shim sends its stdin and stdout (SCM_RIGHTS) and the
command rsync asked for, then waits; the agent reads and writes rsync's pipes itself (no
byte passes through this process) and closes the socket at the end, with the exit status
the shim must report in the one byte it sends first. Standard library only: it runs with
``python -S`` so that it starts in milliseconds.
"""

import array
import os
import socket
import sys


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        sys.stderr.write("usage: shim.py FD HOST COMMAND...\n")
        return 2
    control = socket.socket(fileno=int(argv[1]))
    command = "\0".join(argv[3:]).encode()
    fds = array.array("i", [0, 1])
    control.sendmsg([command], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds.tobytes())])
    os.close(0)
    os.close(1)
    status = control.recv(1)
    return status[0] if status else 12  # 12: rsync's "error in the protocol data stream"


if __name__ == "__main__":
    sys.exit(main(sys.argv))
