# shellcheck shell=bash
# Common environment of the project's scripts: source it, do not run it.
#   KUBEHA_CACHE_DIR  where expensive things are cached between runs and
#                     clones on this machine (default /var/cache/kubeha)
#   KUBEHA_VENV       the Python virtualenv (default: keyed on requirements-dev.txt)
KUBEHA_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export KUBEHA_ROOT
export KUBEHA_CACHE_DIR=${KUBEHA_CACHE_DIR:-/var/cache/kubeha}
__req_key=$(sha256sum "$KUBEHA_ROOT/requirements-dev.txt" | cut -c1-12)
export KUBEHA_VENV=${KUBEHA_VENV:-$KUBEHA_CACHE_DIR/venv-$__req_key}
# Podman: the project's own containers.conf (runc, ulimits); the user's is untouched.
export CONTAINERS_CONF="$KUBEHA_ROOT/lab/containers.conf"
# The checkout is the collection root: expose it as ansible_collections/kubeha/control_plane
# through a symlink outside the checkout (one per checkout path).
__tree="$KUBEHA_CACHE_DIR/collections/$(printf %s "$KUBEHA_ROOT" | sha256sum | cut -c1-12)"
export KUBEHA_COLLECTIONS_DIR="$__tree"
export ANSIBLE_COLLECTIONS_PATH="$__tree"
export ANSIBLE_HOME="$KUBEHA_CACHE_DIR/ansible-home"
export ANSIBLE_FORCE_COLOR=${ANSIBLE_FORCE_COLOR:-0}
export ANSIBLE_NOCOLOR=${ANSIBLE_NOCOLOR:-1}
export PY_COLORS=${PY_COLORS:-0}
export PATH="$KUBEHA_VENV/bin:$PATH"
# Lab and molecule hosts are reached over SSH as root with the lab key (made by
# scripts/bootstrap), as real masters are; host keys of throw-away containers
# are not recorded.
export KUBEHA_LAB_SSH_KEY="$KUBEHA_CACHE_DIR/ssh/id_ed25519"
export ANSIBLE_PRIVATE_KEY_FILE="$KUBEHA_LAB_SSH_KEY"
export ANSIBLE_REMOTE_USER=root
export ANSIBLE_PIPELINING=True
export ANSIBLE_HOST_KEY_CHECKING=False
# A container recreated at the same address can break a persisted SSH master.
export ANSIBLE_SSH_RETRIES=3
export ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=30s -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
export ANSIBLE_PYTHON_INTERPRETER=auto_silent
unset __req_key __tree

kubeha_link_collection() {
  mkdir -p "$KUBEHA_COLLECTIONS_DIR/ansible_collections/kubeha"
  ln -sfn "$KUBEHA_ROOT" "$KUBEHA_COLLECTIONS_DIR/ansible_collections/kubeha/control_plane"
}
