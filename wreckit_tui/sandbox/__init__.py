"""``wreckit-sandbox``: the built-in local provider, real sandboxes without wisp.

Each sandbox is a tmux session on a private socket running a shell inside bubblewrap, limited
through cgroups (else rlimits and CPU affinity). It speaks the wisp CLI contract plus ``exec``.
Every call is a fresh process (but ``serve``, a long-lived helper that answers the read-only
commands for a dashboard): all state lives on disk under ``WRECKIT_SANDBOX_HOME`` and in tmux.
The provider imports only the standard library, and psutil where metrics are needed.
"""

PROG = "wreckit-sandbox"
