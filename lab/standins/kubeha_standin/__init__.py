# KUBEHA LAB STAND-IN -- NOT KUBERNETES.
#
# Real kube-apiserver, kube-scheduler, kube-controller-manager, kubelet and
# kube-proxy binaries cannot be installed on the machines this project is
# tested on. This small program stands in for them in the lab only, so that the
# real HAProxy, keepalived, etcd and systemd paths are exercised. It is never
# installed by a role of the collection.
#
#   python3 -m kubeha_standin apiserver|scheduler|controller-manager|kubelet|proxy [FLAGS]
#
# The lab installs /usr/bin/kube-apiserver etc. as small Python scripts that
# import this module and call main(), so the process table shows the program
# names (/usr/bin/python3 /usr/bin/kube-apiserver --flags...).
#
# It parses the real flag syntax (--flag=value, --flag value, --bool, "_" or
# "-" as word separator) and exits non-zero on an unknown flag, as the real
# binaries do. See README.md, "Kubernetes stand-ins".
#
# Kubernetes version: /etc/kubeha-standin/version (written by lab/prepare.yml
# from kubeha_lab_kubernetes_version, default v1.30.0) is read at start. It sets
# what /version and --version report and the era's flag defaults
# (--endpoint-reconciler-type: lease from 1.11, master-count before, no such
# flag before 1.9; --insecure-port: 8080 before 1.20, 0 from 1.20).
#
# apiserver endpoint reconcilers: the "kubernetes" Endpoints object is stored
# in etcd (<prefix>/services/endpoints/default/kubernetes) and reconciled every
# RECONCILE_INTERVAL as the real master-count and lease reconcilers do
# (master_count_reconcile, lease_reconcile), so --apiserver-count=1 with three
# apiservers makes the list flip and "Resetting endpoints for master service"
# appear in the log, as it did in the recipe's era.
#
# kubelet: runs the static pods of --pod-manifest-path (or staticPodPath of
# --config) as host processes: each container's command + args, no images or
# volumes (the stand-in programs are installed on the host). See PodSupervisor.
#
# Lab fault injection (apiserver): while /run/kubeha-standin/readyz-delay holds
# a number of seconds, every GET /readyz and /healthz waits that long before
# answering (a slow apiserver). The file is read on every request, so tests and
# benchmarks toggle it at runtime: `echo 0.3 > /run/kubeha-standin/readyz-delay`,
# `rm /run/kubeha-standin/readyz-delay`. Other content is ignored (logged once).
# While /run/kubeha-standin/etcd-unreachable exists, this host's etcd client
# reaches no etcd member (a partition between the apiserver and etcd, without
# stopping etcd for the others): /readyz answers 500 within about a second.
"""Lab stand-in for the Kubernetes control-plane and node binaries."""


from __future__ import annotations

import sys

from . import kubeadm
from .apiserver import ApiServer
from .core import FlagError, read_version, version_info
from .election import run_elected
from .flags import FLAGS, check_flags, parse_flags, report
from .nodeagent import run_kubelet, run_proxy


def main(argv):
    if len(argv) >= 2 and argv[1] in ("kubeadm", "kubeadm-lab"):
        try:
            return (kubeadm.main if argv[1] == "kubeadm" else kubeadm.lab_main)(argv[2:], read_version())
        except FlagError as err:
            sys.stderr.write("%s\n" % err)
            return 1
    if len(argv) < 2 or argv[1] not in FLAGS:
        sys.stderr.write("usage: kubeha_standin {%s} [flags]\n" % "|".join(sorted(FLAGS)))
        return 2
    component = argv[1]
    version = read_version()
    try:
        opts = parse_flags(component, argv[2:], version)
        if opts.get("version"):
            print("Kubernetes %s" % version_info(version)["gitVersion"])
            return 0
        check_flags(component, opts, version)  # the checks the real binary makes after parsing
        if component == "apiserver":
            ApiServer(opts, version).serve()
        elif component in ("scheduler", "controller-manager"):
            run_elected(component, opts, version)
        elif component == "kubelet":
            run_kubelet(opts, version)
        else:
            run_proxy(opts, version)
    except FlagError as err:
        # As the real binary of that version prints it (flags.report): first stderr
        # line and exit code included.
        text, code = report(component, version, err, argv[0])
        sys.stderr.write(text)
        return code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
