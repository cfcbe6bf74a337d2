"""Stand-in for ansible-test's pip bootstrap script (get-pip.py).

ansible-test sanity downloads get-pip.py from a CI file host to put pip into
the virtualenvs it creates. That host is not reachable from the machines this
project is tested on (only the package registries are), so scripts/test places
this file where ansible-test caches the download. It does what get-pip.py does
with the same arguments: bootstrap pip from Python's bundled ensurepip wheel,
then install the requested packages (e.g. pip==24.2) from the package index.
"""

from __future__ import annotations

import ensurepip
import os
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
ensurepip.bootstrap(upgrade=True)
# ensurepip sets PIP_CONFIG_FILE=/dev/null for itself; the real install must
# honour the machine's pip configuration (index, proxy CA) like get-pip.py does.
os.environ.pop("PIP_CONFIG_FILE", None)
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "-q"] + args))
