"""A1's test cases: random inputs, the oracle's answers and the values of known mistakes.

Instructor only (autograder zip). ``make fixtures`` runs every case once on fixed
inputs for the public tests (tests/fixtures/); the hidden tests run the same builders
on their own seeded inputs (tests/hidden/test_public_checks_on_new_inputs_hidden.py).
"""
import numpy as np

import oracles
from autograder.fixtures import case

SOFTMAX_KINDS = ["typical", "large positive scores", "large negative scores", "rows of very different scales"]
MODELS = ["SoftmaxRegression", "TwoLayerNet"]


# ---------------------------------------------------------------- functional.py
@case()
def sigmoid(rng):
    x = np.concatenate([rng.normal(scale=3.0, size=20), [-800.0, -40.0, 0.0, 40.0, 800.0]]).reshape(5, 5)
    return {"x": x, "expected": oracles.sigmoid(x)}


@case()
def sigmoid_grad(rng):
    x = rng.normal(scale=2.0, size=(4, 6))
    return {"x": x, "expected": oracles.central_difference(oracles.sigmoid, x), "misconceptions": {
        "you computed s * (1 - s) with s = x; the argument is the sigmoid's input, so apply sigmoid first":
            x * (1 - x)}}


@case()
def relu(rng):
    x = rng.normal(size=(3, 7))
    return {"x": x, "expected": oracles.relu(x)}


@case()
def relu_grad(rng):
    x = rng.normal(size=(6, 4))
    x[np.abs(x) < 1e-3] = 0.5  # keep away from the kink for the finite-difference oracle
    return {"x": x, "expected": oracles.central_difference(oracles.relu, x), "misconceptions": {
        "you returned relu(x) itself rather than its derivative": oracles.relu(x)}}


@case()
def relu_grad_at_zero(rng):
    """Exact zeros among other values: the docstring's convention is relu_grad(0) = 0."""
    x = rng.normal(size=(4, 5))
    x.flat[rng.choice(x.size, size=6, replace=False)] = 0.0
    return {"x": x, "expected": oracles.relu_grad(x), "misconceptions": {
        "you returned 1 at x == 0; the docstring uses 0 there: test x > 0, not x >= 0": np.where(x >= 0, 1.0, 0.0),
        "you returned relu(x) itself rather than its derivative": oracles.relu(x)}}


def _softmax_misconceptions(scores):
    # the student may have shifted by the row max, the global max, or not at all
    with np.errstate(over="ignore", invalid="ignore"):
        shifted = [scores - scores.max(axis=1, keepdims=True), scores - scores.max(), scores]
        exps = [np.exp(s) for s in shifted]
        return {
            "you normalised over axis 0 (columns); each ROW must sum to 1":
                [e / e.sum(axis=0, keepdims=True) for e in exps],
            "you divided by the sum over the whole array; divide each row by its own sum":
                [e / e.sum() for e in exps],
        }


@case(params=SOFTMAX_KINDS)
def softmax(rng, kind):
    scores, _, _ = oracles.random_problem(rng)
    if kind == "large positive scores":
        scores = scores * 10 + 1000.0
    elif kind == "large negative scores":
        scores = scores * 10 - 1000.0
    elif kind == "rows of very different scales":
        # a row near 1000 next to rows near 0 and near -1000: a shift by the maximum of the WHOLE
        # array leaves the low rows all exp(-1000) = 0, and 0 / 0 = NaN
        offsets = np.resize([1000.0, 0.0, -1000.0, 0.0], len(scores))
        scores = scores * 3 + rng.permutation(offsets)[:, None]
    return {"scores": scores, "expected": oracles.softmax(scores), "misconceptions": _softmax_misconceptions(scores)}


@case()
def cross_entropy(rng):
    _, probs, y = oracles.random_problem(rng)
    expected = oracles.cross_entropy(probs, y)
    return {"probs": probs, "y": y, "expected": expected, "misconceptions": {
        "your output equals the loss summed over the batch instead of averaged": expected * len(y),
        "you averaged -log(p) over every class, not just the correct one": -np.mean(np.log(probs))}}


@case()
def accuracy(rng):
    scores, _, y = oracles.random_problem(rng, n=40)
    y[:20] = scores[:20].argmax(axis=1)  # make sure some are right
    return {"scores": scores, "y": y, "expected": oracles.accuracy(scores, y)}


# ---------------------------------------------------------------- models.py
def _grad_misconceptions(weights, X, y, name):
    """Values a gradient takes under common backprop mistakes."""
    n = len(y)
    good = oracles.model_gradients(weights, X, y)[name]
    alts = {"the gradient is N times too large: divide dscores by the batch size N (the loss is a mean)": good * n}
    if name.startswith("b"):
        alts["you averaged the bias gradient over the batch; sum it over the N examples "
             "(the 1/N is already in dscores)"] = good / n
    if "W2" in weights and name in ("W1", "b1"):
        z1 = X @ weights["W1"] + weights["b1"]
        a1 = oracles.sigmoid(z1)
        d2 = (oracles.softmax(a1 @ weights["W2"] + weights["b2"]) - oracles.one_hot(y, weights["W2"].shape[1])) / n
        wrong = (d2 @ weights["W2"].T) * oracles.sigmoid_grad(a1)
        alts["you applied sigmoid_grad to the activation a1; it takes the pre-activation z1"] = \
            X.T @ wrong if name == "W1" else wrong.sum(axis=0)
    alts[BIAS_IN_WEIGHTS] = [oracles.mistaken_model(weights, X, y, layers)[1][name]
                             for layers in _bias_in_weights_layers(weights)]
    return alts


BIAS_IN_WEIGHTS = ("you added the bias to the weights before the product, X @ (W1 + b1); add it to the "
                   "product instead: X @ W1 + b1 (the same for W2, b2)")


def _bias_in_weights_layers(weights):
    """The layer sets a student may have written as inputs @ (W + b)."""
    return [{"1"}, {"2"}, {"1", "2"}] if "W2" in weights else [{"1"}]


@case(params=MODELS)
def model_forward(rng, kind):
    weights, X, y, kwargs = oracles.random_model(rng, kind)
    return {"kwargs": kwargs, "weights": weights, "X": X, "y": y,
            "loss": oracles.model_loss(weights, X, y), "accuracy": oracles.model_accuracy(weights, X, y),
            "misconceptions": {BIAS_IN_WEIGHTS: [oracles.mistaken_model(weights, X, y, layers)[0]
                                                 for layers in _bias_in_weights_layers(weights)]}}


@case(params=MODELS)
def model_backward(rng, kind):
    weights, X, y, kwargs = oracles.random_model(rng, kind)
    grads = oracles.model_gradients(weights, X, y)
    return {"kwargs": kwargs, "weights": weights, "X": X, "y": y, "gradients": grads,
            "misconceptions": {k: _grad_misconceptions(weights, X, y, k) for k in grads}}


def _second_batch(rng, X, y, kwargs):
    """Another batch for the same model: a different size, the same features and classes."""
    n = len(y) + int(rng.integers(2, 6))
    return rng.normal(size=(n, X.shape[1])), rng.integers(0, kwargs["num_classes"], size=n)


@case(params=MODELS)
def model_repeated_calls(rng, kind):
    """forward(mode="train") on batch A, then on batch B: the gradients must be B's alone."""
    weights, X, y, kwargs = oracles.random_model(rng, kind)
    X2, y2 = _second_batch(rng, X, y, kwargs)
    first, second = oracles.model_gradients(weights, X, y), oracles.model_gradients(weights, X2, y2)
    return {"kwargs": kwargs, "weights": weights, "X": X, "y": y, "X2": X2, "y2": y2, "gradients": second,
            "loss": oracles.model_loss(weights, X2, y2), "misconceptions": {k: {
                "the gradient of the second call is the sum of both calls' gradients: you accumulate into "
                "self.gradients (+=) across calls; assign (=) each batch's gradient instead":
                    first[k] + second[k],
                "the gradient of the second call is the first call's: compute it from the batch you are given":
                    first[k],
                BIAS_IN_WEIGHTS: [oracles.mistaken_model(weights, X2, y2, layers)[1][k]
                                  for layers in _bias_in_weights_layers(weights)]} for k in second}}


@case(params=MODELS)
def model_valid_mode(rng, kind):
    """forward(mode="train") on batch A, then forward(mode="valid") on batch B: gradients stay A's."""
    weights, X, y, kwargs = oracles.random_model(rng, kind)
    X2, y2 = _second_batch(rng, X, y, kwargs)
    return {"kwargs": kwargs, "weights": weights, "X": X, "y": y, "X2": X2, "y2": y2}


# ---------------------------------------------------------------- optim.py
def _params(rng):
    weights = {"W1": rng.normal(size=(4, 3)), "b1": rng.normal(size=3),
               "W2": rng.normal(size=(3, 2)), "b2": rng.normal(size=2)}
    grads = [{k: rng.normal(size=v.shape) for k, v in weights.items()} for _ in range(3)]
    return weights, grads


@case()
def apply_regularization(rng):
    weights, grads = _params(rng)
    reg = float(rng.uniform(0.01, 0.5))
    expected, misconceptions = {}, {}
    for key in sorted(weights):
        expected[key] = grads[0][key] + (reg * weights[key] if key.startswith("W") else 0.0)
        if key.startswith("b"):
            misconceptions[key] = {
                "you regularised the biases; only weight matrices (keys starting with W) get reg * W":
                    grads[0][key] + reg * weights[key]}
        else:
            misconceptions[key] = {
                "you added 0.5 * reg * W; the derivative of 0.5 * reg * W**2 is reg * W":
                    grads[0][key] + 0.5 * reg * weights[key],
                "you replaced the gradient by reg * W instead of adding to it": reg * weights[key]}
    penalty = 0.5 * reg * sum(float(np.sum(weights[k] ** 2)) for k in weights if k.startswith("W"))
    return {"weights": weights, "gradients": grads[0], "reg": reg, "expected": expected, "penalty": penalty,
            "misconceptions": misconceptions}


UNDECAYED = ("the velocity is not multiplied by the momentum (v = v - lr * g): use v = mu * v - lr * g; "
             "with momentum 0 every step is exactly -learning_rate * g")


@case()
def plain_sgd_step(rng):
    """Three steps without momentum, one optimiser: each must move by exactly -lr * g."""
    weights, grads = _params(rng)
    lr = 0.05
    expected = oracles.sgd_steps(weights, grads, lr, 0.0, 0.0, regularize=False)
    uphill = oracles.sgd_steps(weights, grads, -lr, 0.0, 0.0, regularize=False)
    undecayed = oracles.sgd_steps(weights, grads, lr, 0.0, 0.0, regularize=False, velocity_decay=1.0)
    return {"weights": weights, "grads": grads, "learning_rate": lr, "expected": expected,
            "misconceptions": [{k: {
                "you moved along +gradient: the step is w - learning_rate * g": uphill[step][k],
                UNDECAYED: undecayed[step][k],
                "this parameter did not move: update every parameter, biases (b...) included": weights[k]}
                for k in weights} for step in range(len(grads))]}


@case()
def momentum_steps(rng):
    weights, grads = _params(rng)
    lr, mu = 0.1, 0.9
    return {"weights": weights, "grads": grads, "learning_rate": lr, "momentum": mu,
            "expected": oracles.sgd_steps(weights, grads, lr, 0.0, mu, regularize=False),
            "no_memory": oracles.sgd_steps(weights, grads, lr, 0.0, 0.0, regularize=False),
            "uphill": oracles.sgd_steps(weights, grads, -lr, 0.0, mu, regularize=False),
            "undecayed": oracles.sgd_steps(weights, grads, lr, 0.0, mu, regularize=False, velocity_decay=1.0)}


# ---------------------------------------------------------------- train.py
def _tracked_problem(rng, n, d, k):
    """Inputs whose first feature numbers the rows (row i has X[i, 0] = i / n), labels, SoftmaxRegression weights."""
    X = rng.normal(size=(n, d))
    X[:, 0] = np.arange(n) / n
    y = rng.integers(0, k, size=n)
    weights = {"W1": rng.normal(scale=0.5, size=(d, k)), "b1": rng.normal(scale=0.1, size=k)}
    kwargs = {"input_size": d, "num_classes": k, "seed": int(rng.integers(1000))}
    return X, y, weights, kwargs


@case()
def train_epoch_means(rng):
    """train_epoch with learning_rate 0 (the weights never move): its returned loss and accuracy must be
    those of the whole set, whatever the order of the batches; the L2 penalty is not part of the loss."""
    n, batch_size, reg = 37, 8, 0.2
    X, y, weights, kwargs = _tracked_problem(rng, n, 4, 3)
    seeds = [int(s) for s in rng.integers(0, 1000, size=2)]
    if seeds[0] == seeds[1]:
        seeds[1] += 1
    loss, acc = oracles.model_loss(weights, X, y), oracles.model_accuracy(weights, X, y)
    # what a loop that averages its batches without weighting gives, batches in the documented order
    order = np.random.default_rng(seeds[0]).permutation(n)
    batches = [order[i:i + batch_size] for i in range(0, n, batch_size)]
    sizes = [len(b) for b in batches]
    batch_loss = [oracles.model_loss(weights, X[b], y[b]) for b in batches]
    batch_acc = [oracles.model_accuracy(weights, X[b], y[b]) for b in batches]
    penalty = 0.5 * reg * float(np.sum(weights["W1"] ** 2))
    return {"kwargs": kwargs, "weights": weights, "X": X, "y": y, "batch_size": batch_size, "reg": reg,
            "seeds": [seeds[0], seeds[0], seeds[1]], "loss": loss, "accuracy": acc,
            "loss_misconceptions": {
                "your loss is the plain mean of the batch losses; weight each batch by its size "
                "(the last batch is smaller): total += loss * len(yb), then divide by N":
                    oracles.batch_means(batch_loss, sizes)[1],
                "your loss includes the regularisation penalty; return the data loss only": loss + penalty,
                "your loss is the last batch's loss, not the mean over the epoch": batch_loss[-1],
                "your loss is a sum, not a mean: divide by the number of examples": [loss * n, sum(batch_loss)]},
            "accuracy_misconceptions": {
                "your accuracy is the plain mean of the batch accuracies; weight each batch by its size":
                    oracles.batch_means(batch_acc, sizes)[1],
                "your accuracy is the last batch's accuracy, not the mean over the epoch": batch_acc[-1],
                "your accuracy is a count or a sum, not a mean: divide by the number of examples":
                    [acc * n, sum(batch_acc)]}}


@case()
def train_epoch_batches(rng):
    """Three calls of train_epoch with seeds s, s, t: the rows each forward(mode="train") saw, in order."""
    X, y, weights, kwargs = _tracked_problem(rng, 30, 4, 3)
    s, t = (int(v) for v in rng.choice(1000, size=2, replace=False))
    return {"kwargs": kwargs, "weights": weights, "X": X, "y": y, "batch_size": 7, "seeds": [s, s, t]}


@case()
def train_epoch_steps(rng):
    """Three calls of train_epoch, one optimiser with momentum and L2, one batch per epoch (batch_size > N):
    the weights after each must follow forward -> apply_regularization -> update."""
    n, epochs = 20, 3
    X, y, weights, kwargs = _tracked_problem(rng, n, 5, 3)
    lr, reg, mu = 0.1, 0.1, 0.9
    run = oracles.full_batch_epochs(weights, X, y, lr, reg, mu, epochs)
    unregularised = oracles.full_batch_epochs(weights, X, y, lr, reg, mu, epochs, regularize=False)
    return {"kwargs": kwargs, "weights": weights, "X": X, "y": y, "batch_size": 64,
            "optimizer": {"learning_rate": lr, "reg": reg, "momentum": mu}, "seeds": list(range(epochs)),
            "expected": run, "misconceptions": [{k: {
                "the L2 term never reached the step: call optimizer.apply_regularization(model) after "
                "forward and BEFORE optimizer.update(model)": unregularised[e]["weights"][k]}
                for k in weights} for e in range(epochs)]}
