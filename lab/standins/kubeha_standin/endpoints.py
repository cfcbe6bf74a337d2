# KUBEHA LAB STAND-IN -- NOT KUBERNETES. See lab/standins/kubeha_standin/__init__.py.
"""The endpoint reconcilers of the "kubernetes" Endpoints object, as pure functions."""

from __future__ import annotations


def endpoints_object(ips, ports):
    return {"kind": "Endpoints", "apiVersion": "v1",
            "metadata": {"name": "kubernetes", "namespace": "default"},
            "subsets": [{"addresses": [{"ip": ip} for ip in ips], "ports": ports}] if ips is not None else []}


def _reset_message(ips):
    return 'Resetting endpoints for master service "kubernetes" to [%s]' % " ".join(ips)


def master_count_reconcile(stored, own_ip, count, ports):
    """One pass of Kubernetes' master-count endpoint reconciler
    (pkg/controlplane/reconcilers/mastercount.go), as a pure function.

    ``stored`` is the stored Endpoints object (None when absent). Returns
    (object to write or None, the warning the real one logs or None).
    """
    if stored is None:  # not found: simply create it with our own address, no warning
        return endpoints_object([own_ip], ports), None
    subsets = stored.get("subsets") or []
    if len(subsets) != 1:  # "something is egregiously wrong": re-make the record
        return endpoints_object([own_ip], ports), _reset_message([own_ip])
    ips = [addr.get("ip") for addr in subsets[0].get("addresses") or []]
    ports_ok = (subsets[0].get("ports") or []) == ports
    ip_ok = own_ip in ips and len(ips) <= count
    if ip_ok and ports_ok:
        return None, None
    if not ip_ok:
        # Always add our own address, keep lexicographic order, then, while too
        # many, remove the address after ours (wrapping around). As in the Go
        # code, the index of our address is taken once, before removing.
        ips = sorted(set(ips) | {own_ip})
        own = ips.index(own_ip)
        while len(ips) > count:
            del ips[(own + 1) % len(ips)]
    return endpoints_object(ips, ports), _reset_message(ips)


def lease_reconcile(stored, live_ips, ports):
    """One pass of the lease reconciler (lease.go): the stored object lists
    exactly the apiservers whose leases are live. Same return shape."""
    ips = sorted(set(live_ips))
    if not ips:
        return None, None
    if stored is None:
        return endpoints_object(ips, ports), None
    subsets = stored.get("subsets") or []
    if (len(subsets) == 1 and sorted(a.get("ip") for a in subsets[0].get("addresses") or []) == ips
            and (subsets[0].get("ports") or []) == ports):
        return None, None
    return endpoints_object(ips, ports), _reset_message(ips)
