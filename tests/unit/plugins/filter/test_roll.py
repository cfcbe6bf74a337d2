"""apiserver_roll_view: the load balancers' view of the apiservers, judged for a roll."""

from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kubeha.control_plane.plugins.filter.roll import apiserver_roll_view

MASTERS = ["m1", "m2", "m3"]


def result(lb, servers, drained=(), unreachable=False):
    if unreachable:
        return {"item": lb, "unreachable": True, "msg": "Failed to connect to the host via ssh"}
    return {"item": lb, "rc": 0, "stdout": json.dumps({"servers": {n: {"status": s, "scur": 0} for n, s in servers.items()},
                                                       "drained": list(drained)})}


def test_every_master_up_everywhere():
    view = apiserver_roll_view([result("lb1", {"m1": "UP", "m2": "UP", "m3": "UP"})], MASTERS, "m2")
    assert view["lb1"] == {"reachable": True, "servers": {n: {"status": "UP", "scur": 0} for n in MASTERS},
                           "missing": [], "extra": [], "not_up": {}, "down": [], "left_drained": [], "stale_marks": [],
                           "maintenance": [], "marked": []}


@pytest.mark.parametrize("status", ["UP 1/2", "DOWN", "DOWN 1/2", "MAINT", "DRAIN", "NOLB", "no check"])
def test_only_up_counts_as_up(status):
    view = apiserver_roll_view([result("lb1", {"m1": "UP", "m2": "UP", "m3": status})], MASTERS, "m1")
    assert view["lb1"]["not_up"] == {"m3": status}


def test_the_host_to_restart_is_not_judged():
    view = apiserver_roll_view([result("lb1", {"m1": "DOWN", "m2": "UP", "m3": "UP"})], MASTERS, "m1")
    assert view["lb1"]["not_up"] == {}


def test_membership_that_differs_from_the_inventory():
    view = apiserver_roll_view([result("lb1", {"m1": "UP", "m2": "UP", "old": "DOWN"})], MASTERS, "m1")["lb1"]
    assert view["missing"] == ["m3"]  # restarted without a drain there
    assert view["extra"] == ["old"]  # not an inventory master: not judged
    assert view["not_up"] == {}


def test_an_interrupted_rolls_drain_and_someone_elses_maintenance():
    view = apiserver_roll_view([result("lb1", {"m1": "UP", "m2": "MAINT", "m3": "MAINT"}, drained=["m2", "m1"])], MASTERS)["lb1"]
    assert view["left_drained"] == ["m2"]  # in maintenance with the roll's mark: put back
    assert view["maintenance"] == ["m3"]  # without the mark: someone else's, counts as down
    assert view["stale_marks"] == ["m1"]  # a mark of a server that is no longer drained
    assert view["not_up"] == {"m2": "MAINT", "m3": "MAINT"}


@pytest.mark.parametrize("status", ["DRAIN", "MAINT", "DOWN", "DOWN 1/2"])
def test_a_marked_server_the_run_left_drained_or_down_is_put_back(status):
    """Cut between the drain and the maintenance, or while the health checks see it down."""
    view = apiserver_roll_view([result("lb1", {"m1": "UP", "m2": status, "m3": "UP"}, drained=["m2"])], MASTERS)["lb1"]
    assert view["left_drained"] == ["m2"]
    assert view["stale_marks"] == [] and view["maintenance"] == []


def test_a_drain_without_the_mark_is_someone_elses_and_marks_of_strangers_are_stale():
    view = apiserver_roll_view([result("lb1", {"m1": "DRAIN", "m2": "UP", "m3": "UP"}, drained=["old", "gone"])],
                               MASTERS + ["gone"])["lb1"]
    assert view["maintenance"] == ["m1"]
    assert view["left_drained"] == []
    assert view["stale_marks"] == ["old", "gone"]  # not a master; a master no longer in the backend


def test_down_is_judged_per_load_balancer():
    """Down without a mark on one load balancer, left drained on another: down all the same
    (the roll restarts it first)."""
    view = apiserver_roll_view([result("lb1", {"m1": "DOWN", "m2": "UP", "m3": "UP"}),
                                result("lb3", {"m1": "DRAIN", "m2": "UP", "m3": "UP"}, drained=["m1"])], MASTERS)
    assert view["lb1"]["down"] == ["m1"]
    assert view["lb3"]["down"] == [] and view["lb3"]["left_drained"] == ["m1"] and view["lb3"]["marked"] == ["m1"]


def test_a_marked_server_that_shows_up_is_put_back_too():
    """Its health checks may still be off (a turn turns them off)."""
    view = apiserver_roll_view([result("lb1", {"m1": "UP", "m2": "UP", "m3": "UP"}, drained=["m2"])], MASTERS)["lb1"]
    assert view["marked"] == ["m2"] and view["stale_marks"] == ["m2"] and view["left_drained"] == []


def test_an_unreachable_load_balancer_is_marked():
    view = apiserver_roll_view([result("lb1", {"m1": "UP"}), result("lb2", {}, unreachable=True)], MASTERS)
    assert view["lb2"] == {"reachable": False}
    assert view["lb1"]["reachable"]


@pytest.mark.parametrize("bad, message", [
    ({"rc": 0, "stdout": "x"}, "expected the results of a loop"),
    ({"item": "lb1", "rc": 0, "stdout": "not json"}, "the state read on lb1 is not JSON"),
    ({"item": "lb1", "rc": 0, "stdout": "{}"}, "the state read on lb1 has no servers"),
])
def test_malformed_input_is_named(bad, message):
    with pytest.raises(AnsibleFilterError, match=message):
        apiserver_roll_view([bad], MASTERS)
