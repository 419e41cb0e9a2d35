"""Measuring several contenders in turns, so that a change in the machine's
speed during a run falls on all of them alike."""


def take_turns(contenders, turns, measure):
    """``measure(contender)`` for every contender, ``turns`` times; every
    other turn runs in reverse order, so that none always goes first.
    Returns one list per contender, in the order given, of its figures in
    turn order: the figures at the same index were measured in one turn."""
    figures = [[] for _ in contenders]
    order = list(enumerate(contenders))
    for turn in range(turns):
        for index, contender in order if turn % 2 == 0 else reversed(order):
            figures[index].append(measure(contender))
    return figures
