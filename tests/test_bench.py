"""The benchmark (bench/compare.py) runs, in a tiny configuration: its
figures are not checked here, only that it works and counts what it should."""
import json
import os
import shutil

import pytest

from bench import compare


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    if shutil.which("redis-server") is None:
        message = "the benchmark compares with redis: apt-get install redis-server"
        if os.environ.get("MONGOSESSION_REQUIRE_REDIS"):
            pytest.fail(message)
        pytest.skip(message)
    directory = tmp_path_factory.mktemp("bench")
    figures = compare.main([
        "--users", "4", "--requests", "12", "--repetitions", "1",
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
