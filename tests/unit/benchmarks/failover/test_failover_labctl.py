"""Unit tests of benchmarks/failover/labctl.py's pure parts (no podman, no lab)."""

from __future__ import annotations

from failover.labctl import parse_keepalived_conf


KEEPALIVED_CONF = """\
global_defs {
    router_id lb2
    vrrp_version 3
}

vrrp_script chk_frontend {
    interval 1
    weight -100
}

vrrp_instance VI_10_213_53_100 {
    state BACKUP
    version 3
    interface eth0
    virtual_router_id 51
    priority 190
    advert_int 0.1
    track_script {
        chk_frontend
    }
}
"""


def test_parse_keepalived_conf():
    assert parse_keepalived_conf(KEEPALIVED_CONF) == {"version": 3, "priority": 190, "advert_int": 0.1,
                                                      "preempt": True}
    nopreempt = KEEPALIVED_CONF.replace("    priority 190\n", "    priority 190\n    nopreempt\n")
    assert parse_keepalived_conf(nopreempt)["preempt"] is False
