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

    def write(permanent=(), runtime=None, running=True, internal=(), fail_runtime=False):
        state.write_text(json.dumps({"running": running, "fail_runtime": fail_runtime, "default_zone": "public", "zones": {
            "public": {"permanent": list(permanent), "runtime": list(permanent if runtime is None else runtime)},
            "internal": {"permanent": list(internal), "runtime": list(internal)}}}))

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

    def record():
        path = record_dir / "kube-apiserver.json"
        return json.loads(path.read_text()) if path.exists() else None

    write()
    return type("FW", (), {"write": staticmethod(write), "read": staticmethod(read), "run": staticmethod(run),
                           "calls": staticmethod(calls), "record": staticmethod(record)})


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
