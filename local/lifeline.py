"""Run a command that dies with the process that started it, however that one dies.

    python -m local.lifeline PARENT_PID COMMAND [ARG ...]

The local stack starts each part through this, each in a session of its own (so a
Ctrl-C reaches only the stack, which stops them in order). A part in its own
session is out of reach of any signal sent to the stack's group, so a stack
killed hard (SIGKILL, an OOM kill, a closed terminal) would leave it running and
holding its port. Linux's PR_SET_PDEATHSIG has the kernel send SIGKILL to this
process when the thread that started it ends; it survives the exec below. Where
prctl is missing (not Linux) the command simply runs.
"""
import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return  # no prctl here: the part outlives a hard-killed stack
    if prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return
    if os.getppid() != parent_pid:  # the parent died before the line above: follow it
        os._exit(1)


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2 or not argv[0].isdigit():
        sys.exit("usage: python -m local.lifeline PARENT_PID COMMAND [ARG ...]")
    die_with_parent(int(argv[0]))
    os.execvp(argv[1], argv[1:])


if __name__ == "__main__":
    main()
