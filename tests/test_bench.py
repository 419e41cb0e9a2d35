"""The benchmark (bench/compare.py) runs, in a tiny configuration: its
figures are not checked here, only that it works and counts what it should."""
import json
import os
import shutil

import pytest

from bench import compare, report


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    if shutil.which("redis-server") is None:
        message = "the benchmark compares with redis: apt-get install redis-server"
        if os.environ.get("MONGOSESSION_REQUIRE_REDIS"):
            pytest.fail(message)
        pytest.skip(message)
    directory = tmp_path_factory.mktemp("bench")
    figures = compare.main([
        "--users", "4", "--requests", "12", "--repetitions", "2",
        "--stored", "200", "--memory-sessions", "20",
        "--output", str(directory), "--chart", str(directory / "chart.png"),
        "--share-cpus",  # the rest of the suite keeps both CPUs
    ])
    return figures, directory


def test_every_store_and_view_is_measured(results):
    figures, directory = results
    assert set(figures["backends"]) == set(compare.BACKENDS)
    assert (directory / "chart.png").stat().st_size > 0
    assert "| pyramid_mongosession | read |" in (directory / "latest.md").read_text()
    (saved,) = directory.glob("*.json")
    assert json.loads(saved.read_text())["backends"].keys() == figures["backends"].keys()


def test_the_round_trips_it_counts_are_the_ones_the_tests_assert(results):
    ours = results[0]["backends"]["pyramid_mongosession"]
    assert ours["untouched"]["round_trips"] == {}
    assert ours["read"]["round_trips"] == {"find": 1}
    assert ours["write"]["round_trips"] == {"find": 1, "update": 1}
    assert ours["new visitor's first write"]["round_trips"] == {"insert": 1}
    assert ours["concurrency_keys_kept"] == 200


def test_every_target_is_checked(results):
    checked = {row["target"]: row["figure"] for row in results[0]["targets"]}
    assert len(checked) == 13
    assert checked["round trips, write = 2"] == "2"
    assert "(turns " in checked["client CPU write <= 2.2x redis's"]
    assert "(turns " in checked["read req/s with many sessions >= 0.9x with 100"]



def test_a_ratio_is_judged_turn_by_turn():
    """A slow spell that falls on one turn slows both stores measured in it;
    taken turn by turn, it does not skew their ratio."""
    def turns(*cpu_ms):
        return [{"client_cpu_ms": cpu} for cpu in cpu_ms]

    ratios = report.turn_ratios(turns(1.0, 2.0, 2.0), turns(0.5, 1.0, 0.5), "client_cpu_ms")
    assert ratios == [2.0, 2.0, 4.0]  # the medians alone, 2.0 and 0.5, give 4x
    assert report.spread(ratios) == "2.00x (turns 2.00 to 4.00)"
