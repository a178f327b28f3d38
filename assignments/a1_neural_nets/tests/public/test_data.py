"""Public checks of neural_nets/data.py: splitting and mini-batches."""
import numpy as np

from autograder import Feedback, expect_equal, graded, sandbox

D = "neural_nets.data"


def _dataset(rng, n):
    X = rng.normal(size=(n, 3))
    X[:, 0] = np.arange(n)  # an id column, to follow each example
    y = rng.integers(0, 10, size=n)
    return X, y


def _check_pairs(name, X, y, Xs, ys):
    ids = np.concatenate([np.asarray(x)[:, 0] for x in Xs]).astype(int)
    labels = np.concatenate([np.asarray(t) for t in ys])
    if sorted(ids.tolist()) != list(range(len(y))):
        raise Feedback("%s: every example must appear exactly once; %d distinct of %d rows seen"
                       % (name, len(set(ids.tolist())), len(y)))
    if not np.array_equal(labels, y[ids]):
        raise Feedback("%s: labels no longer match their inputs; shuffle X and y with the SAME "
                       "permutation (index both with one order array)" % name)


@graded(points=2)
def test_train_val_split(rng):
    """train_val_split keeps every example exactly once, with its label, in the right proportions"""
    X, y = _dataset(rng, 53)
    Xt, yt, Xv, yv = sandbox.call(D + ":train_val_split", X, y, 0.2, 7)
    name = D + ".train_val_split"
    expect_equal(np.asarray(Xv).shape, (11, 3), name=name, what="validation shape (round(0.2 * 53) = 11 rows)")
    expect_equal(np.asarray(Xt).shape, (42, 3), name=name, what="training shape")
    _check_pairs(name, X, y, [Xt, Xv], [yt, yv])
    again = sandbox.call(D + ":train_val_split", X, y, 0.2, 7)
    expect_equal(again[3], yv, name=name, what="validation labels with the same seed (must be reproducible)")
    ids = np.asarray(Xv)[:, 0]
    if np.array_equal(ids, np.arange(42, 53)) or np.array_equal(ids, np.arange(11)):
        raise Feedback("%s: the split is not shuffled (the validation rows are a contiguous block)" % name)


@graded(points=2)
def test_iterate_minibatches(rng):
    """iterate_minibatches covers every example once per epoch, keeps pairs, last batch short"""
    X, y = _dataset(rng, 37)
    batches = sandbox.call("a1_probes:minibatches", X, y, 8, True, 3)
    name = D + ".iterate_minibatches"
    sizes = [len(b[1]) for b in batches]
    expect_equal(np.asarray(sizes), np.asarray([8, 8, 8, 8, 5]), name=name, what="batch sizes for N=37, batch_size=8")
    _check_pairs(name, X, y, [b[0] for b in batches], [b[1] for b in batches])
    ids = np.concatenate([b[0][:, 0] for b in batches])
    if np.array_equal(ids, np.arange(37)):
        raise Feedback("%s: shuffle=True returned the examples in their original order" % name)


def _order(batches, name):
    if not batches:
        raise Feedback("%s yielded no batches" % name)
    return np.concatenate([np.asarray(b[0])[:, 0] for b in batches]).astype(int)


@graded(points=1)
def test_minibatches_follow_the_seed(rng):
    """iterate_minibatches: the same seed gives the same batches again, another seed another order"""
    X, y = _dataset(rng, 30)
    name = D + ".iterate_minibatches"
    first = _order(sandbox.call("a1_probes:minibatches", X, y, 7, True, 11), name)
    again = _order(sandbox.call("a1_probes:minibatches", X, y, 7, True, 11), name)
    other = _order(sandbox.call("a1_probes:minibatches", X, y, 7, True, 12), name)
    if not np.array_equal(first, again):
        raise Feedback("%s: two calls with seed=11 visited the examples in different orders; shuffle with "
                       "np.random.default_rng(seed), not with np.random's global generator" % name)
    if np.array_equal(first, other):
        raise Feedback("%s: seeds 11 and 12 gave the same order; the shuffle must depend on seed "
                       "(np.random.default_rng(seed))" % name)
