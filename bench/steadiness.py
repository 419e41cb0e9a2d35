"""How steady this machine's speed is: a fixed piece of pure Python work,
timed over and over on the first CPU, its median time per second printed.

    .venv/bin/python -m bench.steadiness [seconds]

A change in these times is the machine's (other guests, frequency), not
the benchmark's: it is what the turns of ``bench.compare`` are for."""
import statistics
import sys
import time

from .stores import on_first_cpu


def fixed_work():
    total = 0
    for number in range(200_000):
        total += number * number
    return total


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    seconds = int(argv[0]) if argv else 60
    by_second = [[] for _ in range(seconds)]
    with on_first_cpu():
        start = time.monotonic()
        while (elapsed := time.monotonic() - start) < seconds:
            began = time.process_time()
            fixed_work()
            by_second[int(elapsed)].append(1000 * (time.process_time() - began))
    medians = [statistics.median(times) for times in by_second if times]
    print(f"ms of CPU per pass of the same work, median of each second, {seconds} s:")
    for row in range(0, len(medians), 15):
        print("  " + " ".join(f"{value:5.1f}" for value in medians[row:row + 15]))
    print(f"fastest second {min(medians):.1f} ms, slowest {max(medians):.1f} ms, "
          f"slowest / fastest {max(medians) / min(medians):.2f}")


if __name__ == "__main__":
    main()
