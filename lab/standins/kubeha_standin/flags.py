# KUBEHA LAB STAND-IN -- NOT KUBERNETES. See lab/standins/kubeha_standin/__init__.py.
"""The flags each component accepts, per Kubernetes version, and their defaults."""

from __future__ import annotations

from .core import FlagError, parse_duration, read_version

BOOL, STR, INT, DURATION = "bool", "str", "int", "duration"
COMMON = {
    "logtostderr": BOOL, "v": INT, "alsologtostderr": BOOL, "log-dir": STR, "kubeconfig": STR,
    "master": STR, "allow-privileged": BOOL, "feature-gates": STR, "profiling": BOOL, "version": BOOL,
}
SECURE_SERVING = {
    "authentication-kubeconfig": STR, "authorization-kubeconfig": STR, "client-ca-file": STR,
    "requestheader-client-ca-file": STR, "bind-address": STR, "secure-port": INT,
}
FLAGS = {
    "apiserver": {
        "etcd-servers": STR, "etcd-cafile": STR, "etcd-certfile": STR, "etcd-keyfile": STR,
        "etcd-prefix": STR, "apiserver-count": INT, "endpoint-reconciler-type": STR,
        "secure-port": INT, "insecure-port": INT, "port": INT, "bind-address": STR,
        "insecure-bind-address": STR, "address": STR, "advertise-address": STR,
        "tls-cert-file": STR, "tls-private-key-file": STR, "cert-dir": STR, "client-ca-file": STR,
        "shutdown-delay-duration": DURATION, "service-cluster-ip-range": STR,
        "admission-control": STR, "enable-admission-plugins": STR, "disable-admission-plugins": STR,
        "service-account-key-file": STR, "service-account-signing-key-file": STR,
        "service-account-issuer": STR, "authorization-mode": STR, "kubelet-port": INT,
        "kubelet-client-certificate": STR, "kubelet-client-key": STR, "anonymous-auth": BOOL,
        "runtime-config": STR, "storage-backend": STR, "audit-log-path": STR,
        "enable-bootstrap-token-auth": BOOL, "kubelet-preferred-address-types": STR,
        "proxy-client-cert-file": STR, "proxy-client-key-file": STR,
        "requestheader-allowed-names": STR, "requestheader-client-ca-file": STR,
        "requestheader-extra-headers-prefix": STR, "requestheader-group-headers": STR,
        "requestheader-username-headers": STR,
    },
    "scheduler": dict(SECURE_SERVING, **{
        "leader-elect": BOOL, "leader-elect-lease-duration": DURATION,
        "leader-elect-renew-deadline": DURATION, "leader-elect-retry-period": DURATION,
        "leader-elect-resource-lock": STR, "leader-elect-resource-name": STR,
        "port": INT, "address": STR, "config": STR,
    }),
    "kubelet": {
        "api-servers": STR, "address": STR, "port": INT, "hostname-override": STR,
        "pod-infra-container-image": STR, "config": STR, "cluster-dns": STR, "cluster-domain": STR,
        "pod-manifest-path": STR, "container-runtime-endpoint": STR, "node-ip": STR,
        "bootstrap-kubeconfig": STR,
    },
    "proxy": {"bind-address": STR, "hostname-override": STR, "proxy-mode": STR, "config": STR, "cluster-cidr": STR},
}
FLAGS["controller-manager"] = dict(FLAGS["scheduler"], **{
    "service-account-private-key-file": STR, "root-ca-file": STR, "cluster-cidr": STR,
    "cluster-name": STR, "cluster-signing-cert-file": STR, "cluster-signing-key-file": STR,
    "use-service-account-credentials": BOOL, "controllers": STR, "allocate-node-cidrs": BOOL,
    "service-cluster-ip-range": STR,
})
DEFAULTS = {
    "apiserver": {
        "etcd-servers": "", "etcd-prefix": "/registry", "apiserver-count": 1,
        "secure-port": 6443, "bind-address": "0.0.0.0", "insecure-bind-address": "127.0.0.1",
        "advertise-address": "", "tls-cert-file": "", "tls-private-key-file": "",
        "cert-dir": "/var/run/kubernetes", "shutdown-delay-duration": 0.0,
    },
    "scheduler": {
        "leader-elect": False, "leader-elect-lease-duration": 15.0, "leader-elect-renew-deadline": 10.0,
        "leader-elect-retry-period": 2.0,
    },
}
DEFAULTS["controller-manager"] = DEFAULTS["scheduler"]
RECONCILERS = ("master-count", "lease", "none")


def flag_spec(component, version):
    spec = dict(COMMON, **FLAGS[component])
    if component == "apiserver" and version < (1, 9, 0):
        del spec["endpoint-reconciler-type"]  # added in 1.9
    return spec


def flag_defaults(component, version):
    opts = dict(DEFAULTS.get(component, {}))
    if component == "apiserver":
        opts["endpoint-reconciler-type"] = "lease" if version >= (1, 11, 0) else "master-count"
        opts["insecure-port"] = 8080 if version < (1, 20, 0) else 0
    return opts



def parse_flags(component, argv, version=None):
    version = version or read_version()
    spec = flag_spec(component, version)
    opts = flag_defaults(component, version)
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if not arg.startswith("--"):
            raise FlagError("unexpected argument %r" % arg)
        name, has_value, value = arg[2:].partition("=")
        name = name.replace("_", "-")
        kind = spec.get(name)
        if kind is None:
            raise FlagError("unknown flag: --%s" % name)
        if kind == BOOL:
            if has_value and value.lower() not in ("true", "false", "1", "0"):
                raise FlagError("invalid boolean %r for --%s" % (value, name))
            opts[name] = (value.lower() in ("true", "1")) if has_value else True
            continue
        if not has_value:
            if i >= len(argv):
                raise FlagError("flag needs an argument: --%s" % name)
            value = argv[i]
            i += 1
        try:
            opts[name] = int(value) if kind == INT else parse_duration(value) if kind == DURATION else value
        except ValueError:
            raise FlagError("invalid argument %r for --%s" % (value, name)) from None
    return opts


