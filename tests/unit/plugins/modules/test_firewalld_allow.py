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
OWNED = ['^rule family="ipv[46]" source address="[^"]+" port port="6443" protocol="tcp" accept$']
FOREIGN = 'rule family="ipv4" source address="10.9.9.9" port port="22" protocol="tcp" accept'


@pytest.fixture()
def fw(tmp_path):
    state = tmp_path / "state.json"

    def write(permanent=(), runtime=None, running=True):
        state.write_text(json.dumps({"running": running, "default_zone": "public", "zones": {
            "public": {"permanent": list(permanent), "runtime": list(permanent if runtime is None else runtime)},
            "internal": {"permanent": [], "runtime": []}}}))

    def read():
        return json.loads(state.read_text())["zones"]

    def calls():
        log = tmp_path / "state.json.log"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    def run(check=False, diff=False, **params):
        args = dict(params, _ansible_check_mode=check, _ansible_diff=diff)
        (tmp_path / "args.json").write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
        env = dict(os.environ, FAKE_FIREWALLD_STATE=str(state), PATH=FAKE_DIR + os.pathsep + os.environ["PATH"])
        proc = subprocess.run([sys.executable, MODULE, str(tmp_path / "args.json")], capture_output=True, text=True, env=env, check=False)
        return json.loads(proc.stdout)

    write()
    return type("FW", (), {"write": staticmethod(write), "read": staticmethod(read), "run": staticmethod(run),
                           "calls": staticmethod(calls)})


def test_adds_missing_rules_permanent_and_running_then_changes_nothing(fw):
    want = [R % "10.0.0.1", R % "10.0.0.2"]
    res = fw.run(rules=want, owned=OWNED)
    assert res["changed"] and res["added"] == want and res["removed"] == [] and res["zone"] == "public", res
    assert fw.read()["public"] == {"permanent": want, "runtime": want}
    assert not any("--reload" in c for c in fw.calls()), "a reload would drop the running state"
    # One call adds every missing rule (permanent, then running).
    assert [c for c in fw.calls() if any(a.startswith("--add") for a in c)] == [
        ["--permanent", "--zone=public"] + ["--add-rich-rule=%s" % r for r in want],
        ["--zone=public"] + ["--add-rich-rule=%s" % r for r in want]]
    calls = len(fw.calls())
    again = fw.run(rules=want, owned=OWNED)
    assert not again["changed"] and again["rules"] == want, again
    # Converged: state, default zone, the two listings and the final one; no call per rule.
    assert len(fw.calls()) - calls == 5, fw.calls()[calls:]


def test_removes_owned_rules_no_longer_wanted_and_keeps_foreign_ones(fw):
    fw.write(permanent=[R % "10.0.0.1", R % "10.0.0.3", FOREIGN])
    res = fw.run(rules=[R % "10.0.0.1", R % "10.0.0.2"], owned=OWNED, diff=True)
    assert res["removed"] == [R % "10.0.0.3"] and res["added"] == [R % "10.0.0.2"], res
    assert fw.read()["public"]["permanent"] == [R % "10.0.0.1", FOREIGN, R % "10.0.0.2"]
    assert fw.read()["public"]["runtime"] == fw.read()["public"]["permanent"]
    assert res["diff"]["before"] == "%s\n%s\n" % (R % "10.0.0.1", R % "10.0.0.3")
    assert res["diff"]["after"] == "%s\n%s\n" % (R % "10.0.0.1", R % "10.0.0.2")


def test_a_rule_missing_from_the_running_firewall_only_is_added_there(fw):
    fw.write(permanent=[R % "10.0.0.1"], runtime=[])
    res = fw.run(rules=[R % "10.0.0.1"], owned=OWNED)
    assert res["changed"] and res["added"] == [R % "10.0.0.1"]
    assert fw.read()["public"]["runtime"] == [R % "10.0.0.1"]
    assert [c for c in fw.calls() if c[-1].startswith("--add")] == [["--zone=public", "--add-rich-rule=%s" % (R % "10.0.0.1")]]
    assert not fw.run(rules=[R % "10.0.0.1"], owned=OWNED)["changed"]


def test_check_mode_reports_and_changes_nothing(fw):
    fw.write(permanent=[R % "10.0.0.3"])
    res = fw.run(check=True, rules=[R % "10.0.0.1"], owned=OWNED)
    assert res["changed"] and res["added"] == [R % "10.0.0.1"] and res["removed"] == [R % "10.0.0.3"]
    assert res["rules"] == [R % "10.0.0.1"]
    assert fw.read()["public"]["permanent"] == [R % "10.0.0.3"]
    assert not any(c[-1].startswith(("--add", "--remove")) for c in fw.calls())


def test_an_explicit_zone(fw):
    res = fw.run(rules=[R % "10.0.0.1"], owned=OWNED, zone="internal")
    assert res["zone"] == "internal" and fw.read()["internal"]["permanent"] == [R % "10.0.0.1"]
    assert fw.read()["public"]["permanent"] == []


@pytest.mark.parametrize("params, message", [
    ({"rules": [FOREIGN], "owned": OWNED}, r"match none of the owned patterns"),
    ({"rules": [], "owned": ["("]}, r"owned: '\(' is not a valid regular expression"),
    ({"rules": [], "owned": []}, r"owned is empty"),
    ({"rules": ["accept all"], "owned": [".*"]}, r"is not a firewalld rich rule"),
    ({"rules": [R % "10.0.0.1"], "owned": OWNED, "zone": "nosuch"}, r"INVALID_ZONE: nosuch"),
])
def test_bad_input_fails_with_a_clear_message(fw, params, message):
    res = fw.run(**params)
    assert res.get("failed") and re.search(message, res["msg"]), res


def test_firewalld_not_running_is_an_error(fw):
    fw.write(running=False)
    res = fw.run(rules=[R % "10.0.0.1"], owned=OWNED)
    assert res.get("failed") and "firewalld is not running" in res["msg"], res
