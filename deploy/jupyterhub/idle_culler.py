"""jupyterhub-idle-culler, stopping at once on SIGINT/SIGTERM.

JupyterHub stops a managed service with SIGINT first; jupyterhub-idle-culler 2.0 keeps running
on SIGINT, so the Hub's shutdown waited in "Cleaning up services" (Ctrl+C seemed to hang).
The culler keeps no state, so exiting straight away loses nothing.
"""

import os
import signal

from jupyterhub_idle_culler import main


def _stop(signum, frame):
    os._exit(0)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    main()
