"""Make the checkout importable as ansible_collections.kubeha.control_plane.

The repository root is the collection root. Tests import the plugins through
their real collection path, so a temporary ``ansible_collections/kubeha``
directory with a ``control_plane`` symlink to the checkout is put on sys.path;
the checkout itself is never moved.
"""

from __future__ import annotations

import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_TREE = tempfile.mkdtemp(prefix="kubeha-collections-")
os.makedirs(os.path.join(_TREE, "ansible_collections", "kubeha"))
os.symlink(ROOT, os.path.join(_TREE, "ansible_collections", "kubeha", "control_plane"))
sys.path.insert(0, _TREE)
# ansible_collections may already be imported as a namespace package from the
# ansible distribution: extend its search path too.
if "ansible_collections" in sys.modules:  # pragma: no cover
    sys.modules["ansible_collections"].__path__.append(os.path.join(_TREE, "ansible_collections"))
