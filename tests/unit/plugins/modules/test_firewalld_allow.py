"""Unit tests of the firewalld_allow module: the module file runs as Ansible runs it (its
arguments in a JSON file), against a test stand-in for firewall-cmd (fixtures/firewalld)
that keeps the permanent and running rules of each zone in a JSON file."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
MODULE = os.path.join(HERE, "..", "..", "..", "..", "plugins", "modules", "firewalld_allow.py")
FAKE_DIR = os.path.join(HERE, "fixtures", "firewalld")

R = 'rule family="ipv4" source address="%s" port port="6443" protocol="tcp" accept'
HAND = 'rule family="ipv4" source address="10.9.9.0/24" port port="6443" protocol="tcp" accept'


@pytest.fixture()
def fw(tmp_path):
    state = tmp_path / "state.json"
    record_dir = tmp_path / "record"

    def write(permanent=(), runtime=None, running=True, internal=(), fail_runtime=False, interfaces=None, fail_query=False):
        """``interfaces``: {"runtime": {iface: zone}, "permanent": {iface: zone}}, the zones firewalld binds them to."""
        state.write_text(json.dumps({"running": running, "fail_runtime": fail_runtime, "default_zone": "public", "zones": {
            "public": {"permanent": list(permanent), "runtime": list(permanent if runtime is None else runtime)},
            "internal": {"permanent": list(internal), "runtime": list(internal)}},
            "interfaces": interfaces or {}, "fail_query": fail_query}))

    def bind(iface, running, permanent):
        """Bind ``iface`` (None: to no zone) in the running firewall and the permanent configuration."""
        current = json.loads(state.read_text())
        for where, zone in (("runtime", running), ("permanent", permanent)):
            current["interfaces"].setdefault(where, {}).pop(iface, None)
            if zone:
                current["interfaces"][where][iface] = zone
        state.write_text(json.dumps(current))

    def read():
        return json.loads(state.read_text())["zones"]

    def calls():
        log = tmp_path / "state.json.log"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    def run(check=False, diff=False, path=None, **params):
        params.setdefault("name", "kube-apiserver")
        args = dict(params, state_dir=str(record_dir), _ansible_check_mode=check, _ansible_diff=diff)
        (tmp_path / "args.json").write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
        env = dict(os.environ, FAKE_FIREWALLD_STATE=str(state),
                   PATH=(path if path is not None else FAKE_DIR + os.pathsep + os.environ["PATH"]))
        proc = subprocess.run([sys.executable, MODULE, str(tmp_path / "args.json")], capture_output=True, text=True, env=env, check=False)
        return json.loads(proc.stdout)

    def record(name="kube-apiserver"):
        path = record_dir / (name + ".json")
        return json.loads(path.read_text()) if path.exists() else None

    write()
    return type("FW", (), {"write": staticmethod(write), "read": staticmethod(read), "run": staticmethod(run),
                           "calls": staticmethod(calls), "record": staticmethod(record), "bind": staticmethod(bind)})


def test_adds_missing_rules_in_one_call_each_and_records_them_then_changes_nothing(fw):
    want = [R % "10.0.0.1", R % "10.0.0.2"]
    res = fw.run(rules=want)
    assert res["changed"] and res["added"] == want and res["removed"] == [] and res["zone"] == "public", res
    assert fw.read()["public"] == {"permanent": want, "runtime": want}
    assert fw.record() == {"zone": "public", "rules": want}
    assert not any("--reload" in c for c in fw.calls()), "a reload would drop the running state"
    assert [c for c in fw.calls() if any(a.startswith("--add") for a in c)] == [
        ["--permanent", "--zone=public"] + ["--add-rich-rule=%s" % r for r in want],
        ["--zone=public"] + ["--add-rich-rule=%s" % r for r in want]]
    calls = len(fw.calls())
    again = fw.run(rules=want)
    assert not again["changed"] and again["rules"] == want, again
    # Converged: state, default zone, the two listings and the final one; no call per rule.
    assert len(fw.calls()) - calls == 5, fw.calls()[calls:]


def test_removes_only_rules_it_added_and_no_longer_wants(fw):
    fw.run(rules=[R % "10.0.0.1", R % "10.0.0.3"])
    # A rule for the same port made by hand afterwards.
    zones = fw.read()
    fw.write(permanent=zones["public"]["permanent"] + [HAND])
    res = fw.run(rules=[R % "10.0.0.1", R % "10.0.0.2"], diff=True)
    assert res["removed"] == [R % "10.0.0.3"] and res["added"] == [R % "10.0.0.2"], res
    assert fw.read()["public"]["permanent"] == [R % "10.0.0.1", HAND, R % "10.0.0.2"]
    assert fw.read()["public"]["runtime"] == fw.read()["public"]["permanent"]
    assert res["diff"]["before"] == "%s\n%s\n" % (R % "10.0.0.1", R % "10.0.0.3")
    assert res["diff"]["after"] == "%s\n%s\n" % (R % "10.0.0.1", R % "10.0.0.2")
    # Empty: every rule of the set goes, the hand-made one stays.
    res = fw.run(rules=[])
    assert sorted(res["removed"]) == sorted([R % "10.0.0.1", R % "10.0.0.2"])
    assert fw.read()["public"]["permanent"] == [HAND] and fw.record() == {"zone": "public", "rules": []}


def test_a_wanted_rule_that_was_made_by_hand_is_not_taken_over(fw):
    """The set wants a rule an operator made earlier: it is left as it is, not recorded as the
    set's, and stays when the set no longer wants it."""
    fw.write(permanent=[HAND])
    res = fw.run(rules=[HAND, R % "10.0.0.1"])
    assert res["added"] == [R % "10.0.0.1"] and res["rules"] == [HAND, R % "10.0.0.1"], res
    assert fw.record() == {"zone": "public", "rules": [R % "10.0.0.1"]}
    assert not fw.run(rules=[HAND, R % "10.0.0.1"])["changed"]
    res = fw.run(rules=[])
    assert res["removed"] == [R % "10.0.0.1"] and fw.read()["public"]["permanent"] == [HAND], res


def test_a_wanted_rule_made_by_hand_in_the_running_firewall_only_is_not_taken_over(fw):
    fw.write(permanent=[], runtime=[HAND])
    res = fw.run(rules=[HAND])
    assert res["changed"] and fw.read()["public"]["permanent"] == [HAND], res
    assert fw.record() == {"zone": "public", "rules": []}
    fw.run(rules=[])
    assert fw.read()["public"]["runtime"] == [HAND]


def test_the_order_of_the_rules_alone_changes_nothing(fw):
    fw.run(rules=[R % "10.0.0.1", R % "10.0.0.2"])
    res = fw.run(rules=[R % "10.0.0.2", R % "10.0.0.1"])
    assert not res["changed"], res


def test_a_rule_missing_from_the_running_firewall_only_is_added_there(fw):
    fw.run(rules=[R % "10.0.0.1"])
    fw.write(permanent=[R % "10.0.0.1"], runtime=[])
    res = fw.run(rules=[R % "10.0.0.1"])
    assert res["changed"] and res["added"] == [R % "10.0.0.1"]
    assert fw.read()["public"]["runtime"] == [R % "10.0.0.1"]
    assert not fw.run(rules=[R % "10.0.0.1"])["changed"]


def test_check_mode_reports_and_changes_nothing(fw):
    fw.run(rules=[R % "10.0.0.3"])
    before = fw.calls()
    res = fw.run(check=True, diff=True, rules=[R % "10.0.0.1"])
    assert res["changed"] and res["added"] == [R % "10.0.0.1"] and res["removed"] == [R % "10.0.0.3"]
    assert res["rules"] == [R % "10.0.0.1"] and res["diff"]["after"] == R % "10.0.0.1" + "\n"
    assert fw.read()["public"]["permanent"] == [R % "10.0.0.3"]
    assert fw.record() == {"zone": "public", "rules": [R % "10.0.0.3"]}
    assert not any(a.startswith(("--add", "--remove")) for c in fw.calls()[len(before):] for a in c)


def test_a_new_zone_takes_the_rules_out_of_the_old_one(fw):
    fw.run(rules=[R % "10.0.0.1"])
    res = fw.run(rules=[R % "10.0.0.1"], zone="internal")
    assert res["zone"] == "internal" and res["removed"] == [R % "10.0.0.1"] and res["added"] == [R % "10.0.0.1"]
    assert fw.read()["internal"]["permanent"] == [R % "10.0.0.1"] and fw.read()["public"]["permanent"] == []
    assert fw.record() == {"zone": "internal", "rules": [R % "10.0.0.1"]}


@pytest.mark.parametrize("params, message", [
    ({"rules": ["accept all"]}, r"is not a firewalld rich rule"),
    ({"rules": [], "name": "../x"}, r"name '\.\./x': use letters, digits"),
    ({"rules": [R % "10.0.0.1"], "zone": "nosuch"}, r"INVALID_ZONE: nosuch"),
    ({"rules": [R % "10.0.0.1"], "interface": "eth0 --reload"}, r"interface 'eth0 --reload' is not an interface name"),
    ({"rules": [R % "10.0.0.1"], "interface": "../etc"}, r"interface '\.\./etc' is not an interface name"),
])
def test_bad_input_fails_with_a_clear_message(fw, params, message):
    res = fw.run(**params)
    assert res.get("failed") and re.search(message, res["msg"]), res


def test_firewalld_not_running_or_missing_is_an_error(fw):
    fw.write(running=False)
    res = fw.run(rules=[R % "10.0.0.1"])
    assert res.get("failed") and "firewalld is not running" in res["msg"], res
    res = fw.run(rules=[R % "10.0.0.1"], path="/nonexistent")
    assert res.get("failed") and "firewall-cmd was not found: install firewalld" in res["msg"], res


def test_a_failed_change_says_what_was_already_done(fw):
    # The running firewall refuses the additions after the permanent ones were made.
    fw.write(fail_runtime=True)
    res = fw.run(rules=[R % "10.0.0.1", R % "10.0.0.2"])
    assert res.get("failed") and "COMMAND_FAILED" in res["msg"], res
    assert "already done: added 2 rule(s) (permanent)" in res["msg"], res
    assert fw.record() is None, "a failed run must not record rules as the set's"


# The zone of an interface (option interface, used when zone is empty).

def _queries(calls):
    return [c for c in calls if any(a.startswith("--get-zone-of-interface") for a in c)]


def test_the_zone_is_the_one_the_interface_is_bound_to(fw):
    fw.bind("eth1", "internal", "internal")
    res = fw.run(rules=[R % "10.0.0.1"], interface="eth1")
    assert res["changed"] and res["zone"] == "internal" and res["zone_from"] == "interface", res
    assert fw.read()["internal"] == {"permanent": [R % "10.0.0.1"], "runtime": [R % "10.0.0.1"]}
    assert fw.read()["public"] == {"permanent": [], "runtime": []}
    assert fw.record() == {"zone": "internal", "rules": [R % "10.0.0.1"]}
    # Asked of the running firewall and of the permanent configuration; both agree, so the
    # default zone is not needed.
    assert _queries(fw.calls()) == [["--get-zone-of-interface=eth1"], ["--permanent", "--get-zone-of-interface=eth1"]]
    assert ["--get-default-zone"] not in fw.calls()
    calls = len(fw.calls())
    again = fw.run(rules=[R % "10.0.0.1"], interface="eth1")
    assert not again["changed"] and again["zone"] == "internal", again
    # Converged: state, the two zone queries, the two listings and the final one.
    assert len(fw.calls()) - calls == 6, fw.calls()[calls:]


def test_rules_follow_the_interface_to_its_new_zone(fw):
    fw.run(rules=[R % "10.0.0.1"], interface="eth0")
    assert fw.record() == {"zone": "public", "rules": [R % "10.0.0.1"]}
    fw.bind("eth0", "internal", "internal")
    res = fw.run(rules=[R % "10.0.0.1"], interface="eth0")
    assert res["zone"] == "internal" and res["removed"] == [R % "10.0.0.1"] and res["added"] == [R % "10.0.0.1"], res
    assert fw.read()["public"]["permanent"] == [] and fw.read()["internal"]["permanent"] == [R % "10.0.0.1"]


@pytest.mark.parametrize("running, permanent, said", [
    # A runtime-only change (firewall-cmd --zone=internal --change-interface=eth1 without --permanent).
    ("internal", None, r"in zone internal in the running firewall .* but in no zone \(so in the default zone, public\) "
                       r"in the permanent configuration"),
    # Bound in the permanent configuration (or NetworkManager's connection), not yet applied.
    (None, "internal", r"in no zone \(so in the default zone, public\) in the running firewall .* but in zone internal "
                       r"in the permanent configuration"),
    ("internal", "trusted", r"in zone internal in the running firewall .* but in zone trusted in the permanent"),
])
def test_running_and_permanent_zones_of_the_interface_must_agree(fw, running, permanent, said):
    fw.bind("eth1", running, permanent)
    res = fw.run(check=True, rules=[R % "10.0.0.1"], interface="eth1")
    assert res.get("failed") and re.search("interface eth1 is " + said, res["msg"]), res
    assert "--change-interface=eth1" in res["msg"] and "name the zone explicitly" in res["msg"], res
    assert res["running_zone"] == running and res["permanent_zone"] == permanent and res["default_zone"] == "public", res
    res = fw.run(rules=[R % "10.0.0.1"], interface="eth1")
    assert res.get("failed"), res
    assert not any(a.startswith(("--add", "--remove")) for c in fw.calls() for a in c), "nothing may change"
    assert fw.record() is None


def test_an_explicit_zone_wins_over_the_interface(fw):
    fw.bind("eth1", "internal", "internal")
    res = fw.run(rules=[R % "10.0.0.1"], zone="public", interface="eth1")
    assert res["zone"] == "public" and res["zone_from"] == "zone", res
    assert fw.read()["public"]["permanent"] == [R % "10.0.0.1"] and fw.read()["internal"]["permanent"] == []
    assert _queries(fw.calls()) == [], "the interface is not asked about when the zone is given"


def test_an_interface_in_no_zone_is_in_the_default_zone(fw):
    res = fw.run(rules=[R % "10.0.0.1"], interface="eth0")
    assert res["zone"] == "public" and res["zone_from"] == "default", res
    assert fw.read()["public"]["permanent"] == [R % "10.0.0.1"]
    # NetworkManager binds a connection without a zone to the default zone in the running
    # firewall only: the same zone as no zone at all in the permanent configuration.
    fw.bind("eth0", "public", None)
    res = fw.run(rules=[R % "10.0.0.1"], interface="eth0")
    assert not res["changed"] and res["zone"] == "public" and res["zone_from"] == "interface", res


def test_check_mode_reports_the_move_to_the_zone_of_the_interface_and_changes_nothing(fw):
    fw.run(rules=[R % "10.0.0.1"])
    fw.bind("eth1", "internal", "internal")
    before = len(fw.calls())
    res = fw.run(check=True, diff=True, rules=[R % "10.0.0.1", R % "10.0.0.2"], interface="eth1")
    assert res["changed"] and res["zone"] == "internal" and res["zone_from"] == "interface", res
    assert res["removed"] == [R % "10.0.0.1"] and res["added"] == [R % "10.0.0.1", R % "10.0.0.2"], res
    assert res["diff"]["after_header"] == "firewalld zone internal, set kube-apiserver", res["diff"]
    assert res["diff"]["after"] == "%s\n%s\n" % (R % "10.0.0.1", R % "10.0.0.2"), res["diff"]
    assert not any(a.startswith(("--add", "--remove")) for c in fw.calls()[before:] for a in c)
    assert fw.read()["public"]["permanent"] == [R % "10.0.0.1"] and fw.read()["internal"]["permanent"] == []
    assert fw.record() == {"zone": "public", "rules": [R % "10.0.0.1"]}
    # The real run does what check mode said.
    res = fw.run(rules=[R % "10.0.0.1", R % "10.0.0.2"], interface="eth1")
    assert res["removed"] == [R % "10.0.0.1"] and res["added"] == [R % "10.0.0.1", R % "10.0.0.2"], res
    assert fw.read()["internal"]["permanent"] == [R % "10.0.0.1", R % "10.0.0.2"] and fw.read()["public"]["permanent"] == []


def test_a_failed_zone_query_fails_with_firewall_cmds_message(fw):
    fw.write(fail_query=True)
    res = fw.run(rules=[R % "10.0.0.1"], interface="eth1")
    assert res.get("failed") and res["rc"] == 12, res
    assert re.search(r"firewall-cmd --get-zone-of-interface=eth1 failed \(rc=12\): Error: COMMAND_FAILED", res["msg"]), res


def test_a_rule_two_sets_want_in_one_zone_stays_until_neither_wants_it(fw):
    """The VRRP multicast rule of two interfaces in one zone: whichever set stops wanting it
    first leaves it to the other."""
    shared = 'rule family="ipv4" destination address="224.0.0.18" protocol value="vrrp" accept'
    assert fw.run(name="vrrp-a", rules=[shared])["added"] == [shared]
    res = fw.run(name="vrrp-b", rules=[shared])
    assert not res["added"] and fw.record("vrrp-b") == {"zone": "public", "rules": [shared]}, res
    res = fw.run(name="vrrp-a", rules=[])
    assert res["removed"] == [] and res["kept"] == [shared] and res["changed"], res
    assert fw.read()["public"] == {"permanent": [shared], "runtime": [shared]}
    assert fw.record("vrrp-a") == {"zone": "public", "rules": []}
    res = fw.run(name="vrrp-b", rules=[])
    assert res["removed"] == [shared] and res["kept"] == [], res
    assert fw.read()["public"] == {"permanent": [], "runtime": []}


def test_a_rule_another_set_owns_in_another_zone_does_not_stay(fw):
    shared = 'rule family="ipv4" destination address="224.0.0.18" protocol value="vrrp" accept'
    fw.bind("eth1", "internal", "internal")
    fw.run(name="vrrp-a", rules=[shared], interface="eth0")
    fw.run(name="vrrp-b", rules=[shared], interface="eth1")
    assert fw.read()["public"]["permanent"] == [shared] and fw.read()["internal"]["permanent"] == [shared]
    res = fw.run(name="vrrp-a", rules=[], interface="eth0")
    assert res["removed"] == [shared] and res["kept"] == [], res
    assert fw.read()["public"]["permanent"] == [] and fw.read()["internal"]["permanent"] == [shared]
