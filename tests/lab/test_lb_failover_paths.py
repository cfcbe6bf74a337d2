"""Each failover path on its own, with a time bound: HAProxy's state file alone
(track_file, check script off), and the frontend check script alone (track_file
off); the API answers through the VIP after each move. The default configuration
is restored afterwards."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import time
import urllib.request

import pytest

from .lablib import INVENTORY, SITE

from kubeha_testlib import API, LAB_STATE, LBS, VIP, holders, host, wait_for  # noqa: E402  (lablib puts it on sys.path)

CONF = "/etc/keepalived/keepalived.conf"

pytestmark = [pytest.mark.lab, pytest.mark.usefixtures("lab_ready")]


def api_answers():
    """GET /readyz through the VIP from this machine, as a real client: the server verified
    against the cluster CA and the VIP, the lab's client certificate presented."""
    context = ssl.create_default_context(cafile=os.path.join(LAB_STATE, "ca.crt"))
    context.load_cert_chain(os.path.join(LAB_STATE, "admin.pem"))
    with urllib.request.urlopen(API + "/readyz", timeout=5, context=context) as resp:
        return resp.status, resp.read().decode().strip()


def converge(**extra):
    cmd = ["ansible-playbook", "-i", INVENTORY, SITE, "--tags", "keepalived_config,keepalived_service", "--limit", "kube_lbs"]
    if extra:
        cmd += ["-e", json.dumps(extra)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


def one_holder():
    held = wait_for(holders, lambda h: len(h) == 1, 30)
    assert len(held) == 1, held
    # Give VRRP a master-down interval to be sure nobody else takes it.
    time.sleep(4)
    held = holders()
    assert len(held) == 1, held
    return held[0]


def time_until_moved(old, limit):
    start = time.monotonic()
    while time.monotonic() - start < limit:
        held = holders()
        if len(held) == 1 and held[0] != old:
            return time.monotonic() - start, held[0]
        time.sleep(0.1)
    return None, holders()


@pytest.fixture(scope="module", autouse=True)
def restore_defaults():
    before = {n: host(n).file(CONF).sha256sum for n in LBS}
    yield
    for n in LBS:
        host(n).run("systemctl start haproxy")
    converge()
    assert {n: host(n).file(CONF).sha256sum for n in LBS} == before, "the default configuration was not restored"


def _stop_haproxy_on_holder(limit):
    holder = one_holder()
    host(holder).run_test("systemctl stop haproxy")
    try:
        moved = time_until_moved(holder, limit)
        if moved[0] is not None:
            # The new holder serves the API through the VIP.
            assert api_answers() == (200, "ok")
        return holder, moved
    finally:
        host(holder).run_test("systemctl start haproxy")


def test_track_file_alone_moves_the_vip_at_once():
    converge(keepalived_check_frontend=False)
    text = host(LBS[0]).file(CONF).content_string
    assert "track_script" not in text and "track_file" in text
    holder, (elapsed, new) = _stop_haproxy_on_holder(limit=10)
    # FAULT through inotify, then the priority-0 advert lets a backup take over at once.
    assert elapsed is not None, "VIP %s did not leave %s (holders: %s)" % (VIP, holder, new)
    assert elapsed < 2.0, "track_file failover took %.2f s" % elapsed


def test_frontend_check_alone_moves_the_vip():
    converge(keepalived_track_haproxy=False)
    text = host(LBS[0]).file(CONF).content_string
    assert "track_file" not in text and "track_script" in text
    holder, (elapsed, new) = _stop_haproxy_on_holder(limit=15)
    assert elapsed is not None, "VIP %s did not leave %s (holders: %s)" % (VIP, holder, new)
    # fall 2 checks every 1 s, then the next advert of a backup now of higher priority:
    # never at once (no track_file), and within fall x interval + timeout + two adverts.
    assert 1.0 <= elapsed < 7.0, "check-script failover took %.2f s" % elapsed
