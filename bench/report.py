"""The benchmark's results as JSON, a markdown table, a chart, and the
targets checked against them."""
import json
import os
import statistics

from .backends import BACKENDS

OURS, COOKIE, BEAKER, REDIS = BACKENDS


def table(results):
    lines = [
        "| store | view | req/s | client CPU ms/req | store CPU ms/req | round trips/req "
        "| bytes sent/req |",
        "|---|---|---:|---:|---:|---|---:|",
    ]
    for store, figures in results["backends"].items():
        for view, f in figures.items():
            if view == "concurrency_keys_kept":
                continue
            if f is None:
                lines.append(f"| {store} | {view} | n/a (does not fit) | | | | |")
                continue
            trips = ", ".join(f"{name} {count:g}" for name, count in f["round_trips"].items())
            lines.append(
                f"| {store} | {view} | {f['requests_per_s']:.0f} | {f['client_cpu_ms']:.2f} "
                f"| {f['store_cpu_ms']:.2f} | {f['round_trips_total']:g} ({trips or '-'}) "
                f"| {f['bytes_sent']:.0f} |"
            )
    lines.append("")
    lines.append("| store | keys kept of 200 (8 threads x 25 writes, one session) |")
    lines.append("|---|---:|")
    for store, figures in results["backends"].items():
        lines.append(f"| {store} | {figures['concurrency_keys_kept']} |")
    if "scale" in results:
        lines.append("")
        lines.append("| pyramid_mongosession | |")
        lines.append("|---|---:|")
        for name, value in results["scale"].items():
            lines.append(f"| {name.replace('_', ' ')} | {value:,.0f} |")
    return "\n".join(lines) + "\n"


def targets(results):
    """Each target of the performance issue: (description, figure, met).
    A ratio between two sets of figures is judged turn by turn (see
    :func:`judge`)."""
    b = results["backends"]
    checks = []

    def ratio(store, other, view, key):
        if store in b and other in b:
            return turn_ratios(b[store][view]["turns"], b[other][view]["turns"], key)
        return None

    if OURS in b:
        ours = b[OURS]
        for view, trips in (("untouched", 0), ("read", 1), ("write", 2),
                            ("new visitor's first write", 1)):
            got = ours[view]["round_trips_total"]
            checks.append((f"round trips, {view} = {trips}", f"{got:g}", got == trips))
        for view, floor in (("read", 6), ("write", 3)):
            r = ratio(OURS, BEAKER, view, "requests_per_s")
            if r is not None:
                checks.append(judge(f"req/s {view} >= {floor}x Beaker's", r, at_least=floor))
        for view, ceiling in (("read", 1.2), ("write", 2.2)):
            r = ratio(OURS, REDIS, view, "client_cpu_ms")
            if r is not None:
                checks.append(judge(f"client CPU {view} <= {ceiling}x redis's", r,
                                    at_most=ceiling))
        r = ratio(OURS, COOKIE, "untouched", "client_cpu_ms")
        if r is not None:
            checks.append(judge("client CPU untouched <= 1.5x cookie's", r, at_most=1.5))
        large = ours["large session, one key"]["bytes_sent"]
        whole = ours["large session, one key"].get("whole_document_bytes")
        if whole:
            checks.append(("bytes for one key of 50 <= 5% of a rewrite",
                           f"{100 * large / whole:.1f}%", large <= 0.05 * whole))
        kept = ours["concurrency_keys_kept"]
        checks.append(("keys kept of 200 = 200", str(kept), kept == 200))
    scale = results.get("scale")
    if scale:
        settings = results["settings"]
        turns = results["scale_turns"]
        checks.append(judge("read req/s with many sessions >= 0.9x with 100",
                            [turn["many"] / turn["few"] for turn in turns], at_least=0.9))
        grown = (scale[f"rss_kb_after_{settings['memory_sessions']}_more_sessions"]
                 - scale["rss_kb_after_100_sessions"]) / 1024
        checks.append(("RSS growth over the extra sessions <= 5 MB", f"{grown:.1f} MB",
                       grown <= 5))
    return checks


def turn_ratios(ours, theirs, key):
    """Figure ``key`` of ``ours`` over that of ``theirs``, turn by turn: the
    figures of one turn were measured back to back, so a slow spell of the
    machine falls on both."""
    if len(ours) != len(theirs):
        raise ValueError(f"{len(ours)} turns against {len(theirs)}: not measured in turns")
    return [mine[key] / other[key] for mine, other in zip(ours, theirs, strict=True)]


def judge(description, ratios, at_least=None, at_most=None):
    """A target on a ratio, met when the median of the turns' ratios is
    within the bound: (description, figure, met).  The figure gives the
    median, the range over the turns and how many turns miss."""
    def within(value):
        return (at_least is None or value >= at_least) and (at_most is None or value <= at_most)

    median = statistics.median(ratios)
    missed = sum(not within(value) for value in ratios)
    figure = (f"{median:.3f}x (turns {min(ratios):.3f} to {max(ratios):.3f}; "
              f"{missed} of {len(ratios)} miss)")
    return description, figure, within(median)


def chart(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stores = list(results["backends"])
    views = [v for v in results["backends"][stores[0]] if v != "concurrency_keys_kept"]
    figure, axis = plt.subplots(figsize=(10, 4.8))
    width = 0.8 / len(stores)
    for number, store in enumerate(stores):
        rates = [(results["backends"][store][view] or {}).get("requests_per_s", 0)
                 for view in views]
        axis.bar([i + number * width for i in range(len(views))], rates, width, label=store)
    axis.set_xticks([i + width * (len(stores) - 1) / 2 for i in range(len(views))])
    axis.set_xticklabels(views, fontsize=8)
    axis.set_yscale("log")
    axis.set_ylabel("requests per second, log scale (in-process WSGI)")
    axis.set_title(f"Session stores side by side: {results['machine'][:60]}", fontsize=9)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def write_reports(results, directory, chart_path):
    results["targets"] = [
        {"target": t, "figure": f, "met": m} for t, f, m in targets(results)
    ]
    os.makedirs(directory, exist_ok=True)
    stamp = results["date"].replace(":", "")
    with open(os.path.join(directory, f"{stamp}.json"), "w") as out:
        json.dump(results, out, indent=2)
    settings = results["settings"]
    retrying = "on" if settings.get("retry_writes") else "off"
    cpus = ("shared" if settings.get("share_cpus", True)
            else "this process on the first, database servers on the others")
    text = (f"Run {results['date']} on {results['machine']}; "
            f"retryable writes {retrying}; CPUs: {cpus}\n\n" + table(results))
    text += "\n| target | figure | met |\n|---|---:|---|\n" + "".join(
        f"| {t['target']} | {t['figure']} | {'yes' if t['met'] else 'NO'} |\n"
        for t in results["targets"]
    )
    with open(os.path.join(directory, "latest.md"), "w") as out:
        out.write(text)
    if chart_path:
        chart(results, chart_path)
    print(text)
