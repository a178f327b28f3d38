"""A2's test cases: random inputs, the oracle's answers and the values of known mistakes.

Instructor only (autograder zip). ``make fixtures`` runs every case once on fixed
inputs for the public tests (tests/fixtures/); the hidden tests run the same builders
on their own seeded inputs (tests/hidden/test_public_checks_on_new_inputs_hidden.py).

NumPy only, like the oracles: every value is a NumPy array or a plain number, so
reading the fixtures never imports torch (part 1 is graded without it).
"""
import numpy as np

import oracles
from autograder.fixtures import case

# ---------------------------------------------------------------- layers.py: Conv2D
CONV_CASES = {
    "3x3, stride 1, padding 1": dict(n=2, c=3, h=7, w=6, f=4, k=3, s=1, p=1),
    "non-square 9x7, stride 2, padding 1": dict(n=2, c=2, h=9, w=7, f=3, k=3, s=2, p=1),
    "5x5, padding 2": dict(n=1, c=2, h=6, w=8, f=3, k=5, s=1, p=2),
    "2x2, stride 2, no padding": dict(n=3, c=3, h=8, w=6, f=2, k=2, s=2, p=0),
}
#: the Conv2D case whose backward pass is checked against finite differences of the student's forward
FD_CASE = "non-square 9x7, stride 2, padding 1"
CONV_OVERLAP = ("windows overlap here (stride < kernel_size): accumulate with += into the padded gradient "
                "(dxpad[..., window] += ...); assigning with = keeps only the last window's (or filter's) "
                "contribution")
POOL_OVERLAP = ("windows overlap here (stride < kernel_size): a position that is the maximum of several windows "
                "collects the gradient of each: accumulate with += (dx[...] += dout[...]); assigning with = keeps "
                "only the last window's")


def conv_problem(rng, name):
    d = CONV_CASES[name]
    x = rng.normal(size=(d["n"], d["c"], d["h"], d["w"]))
    params = {"weight": rng.normal(size=(d["f"], d["c"], d["k"], d["k"])), "bias": rng.normal(size=d["f"])}
    kwargs = {"in_channels": d["c"], "out_channels": d["f"], "kernel_size": d["k"], "stride": d["s"],
              "padding": d["p"]}
    ho, wo = oracles.out_size(d["h"], d["k"], d["s"], d["p"]), oracles.out_size(d["w"], d["k"], d["s"], d["p"])
    dout = rng.normal(size=(d["n"], d["f"], ho, wo))
    return d, x, params, kwargs, dout


@case(params=list(CONV_CASES))
def conv_forward(rng, name):
    d, x, params, kwargs, _ = conv_problem(rng, name)
    return {"kwargs": kwargs, "params": params, "x": x,
            "expected": oracles.conv_forward(x, params["weight"], params["bias"], d["s"], d["p"]),
            "misconceptions": {
                "you flipped the kernel (a true convolution); deep-learning layers compute the cross-correlation, "
                "weight[f, c, a, b] * xpad[n, c, i*s + a, j*s + b] without flipping":
                    oracles.conv_forward(x, params["weight"], params["bias"], d["s"], d["p"], flip=True),
                "the bias is missing: add bias[f] to every output of filter f":
                    oracles.conv_forward(x, params["weight"], np.zeros(d["f"]), d["s"], d["p"]),
            }}


@case(params=list(CONV_CASES))
def conv_backward(rng, name):
    d, x, params, kwargs, dout = conv_problem(rng, name)
    dx, dw, db, _ = oracles.conv_backward(x, params["weight"], d["s"], d["p"], dout)
    n, ho, wo = d["n"], dout.shape[2], dout.shape[3]
    dx_wrong = {}
    if d["s"] > 1:
        dx_wrong["dx scatters with step 1: in the padded gradient, window (i, j) starts at (i * stride, j * stride)"] = \
            oracles.conv_backward(x, params["weight"], d["s"], d["p"], dout, dx_step_one=True)[0]
    if d["k"] > d["s"]:
        dx_wrong[CONV_OVERLAP] = [oracles.conv_dx_assigned(x, params["weight"], d["s"], d["p"], dout),
                                  oracles.conv_dx_assigned(x, params["weight"], d["s"], d["p"], dout,
                                                           last_filter_only=True)]
    return {"kwargs": kwargs, "params": params, "x": x, "dout": dout, "dx": dx, "dw": dw, "db": db,
            "misconceptions": {
                "dx": dx_wrong,
                "dw": {"dw is divided by the batch size N: the upstream gradient already carries the mean, "
                       "sum over the batch": dw / n},
                "db": {"db is averaged instead of summed over N, H_out and W_out": db / (n * ho * wo),
                       "db is averaged over the batch instead of summed": db / n},
            }}


@case()
def conv_finite_differences(rng):
    """Inputs, and the forward output only to recognise a float32 forward (its finite differences are
    rounding noise); the check differentiates the student's own forward pass."""
    d, x, params, kwargs, dout = conv_problem(rng, FD_CASE)
    return {"kwargs": kwargs, "params": params, "x": x, "dout": dout,
            "out": oracles.conv_forward(x, params["weight"], params["bias"], d["s"], d["p"])}


# ---------------------------------------------------------------- layers.py: MaxPool2D
POOL_CASES = {
    "2x2, stride 2": dict(n=2, c=3, h=8, w=8, k=2, s=2),
    "3x3, stride 2 (overlapping windows)": dict(n=2, c=2, h=7, w=7, k=3, s=2),
    "non-square 9x6, 2x2, stride 2": dict(n=2, c=2, h=9, w=6, k=2, s=2),
    "3x3, stride 1": dict(n=1, c=2, h=6, w=6, k=3, s=1),
}


def pool_problem(rng, name, ties=True):
    d = POOL_CASES[name]
    shape = (d["n"], d["c"], d["h"], d["w"])
    x = oracles.tied_input(rng, shape) if ties else rng.normal(size=shape)  # ties on purpose (first maximum wins)
    ho, wo = (d["h"] - d["k"]) // d["s"] + 1, (d["w"] - d["k"]) // d["s"] + 1
    return d, x, {"kernel_size": d["k"], "stride": d["s"]}, rng.normal(size=(d["n"], d["c"], ho, wo))


def avg_pool(x, k, s):
    n, c, h, w = x.shape
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    return np.array([[x[:, :, i * s:i * s + k, j * s:j * s + k].mean(axis=(2, 3)) for j in range(wo)]
                     for i in range(ho)]).transpose(2, 3, 0, 1)


@case(params=list(POOL_CASES))
def maxpool_forward(rng, name):
    d, x, kwargs, _ = pool_problem(rng, name, ties=False)
    return {"kwargs": kwargs, "x": x, "expected": oracles.maxpool_forward(x, d["k"], d["s"]),
            "misconceptions": {"you averaged each window (average pooling); take the maximum":
                               avg_pool(x, d["k"], d["s"])}}


TIE_RULE = ("where a window holds several equal maxima, the gradient goes to the FIRST one in row-major order "
            "(top row first, left to right), as the docstring says (and PyTorch does); the tie-free cases "
            "check the routing itself")


def _pool_wrong(x, d, dout, ties):
    wrong = {"the gradient landed at the mirrored position inside the window: the row and column offsets of "
             "the maximum are swapped": oracles.maxpool_backward(x, d["k"], d["s"], dout, ties="transposed")}
    if d["k"] > d["s"]:
        wrong[POOL_OVERLAP] = oracles.maxpool_backward(x, d["k"], d["s"], dout, accumulate=False)
    if ties:
        wrong.update({
            "the gradient went to every tied maximum of a window; send it to the first maximum only "
            "(row-major order, as PyTorch does), so the gradients sum to dout's":
                oracles.maxpool_backward(x, d["k"], d["s"], dout, ties="all"),
            "the gradient went to the LAST of a window's tied maxima (e.g. a comparison with >=); it goes to the "
            "first one in row-major order": oracles.maxpool_backward(x, d["k"], d["s"], dout, ties="last"),
            "the gradient was shared among a window's tied maxima; it goes whole to the first one in row-major "
            "order": oracles.maxpool_backward(x, d["k"], d["s"], dout, ties="split"),
        })
    return wrong


@case(params=list(POOL_CASES))
def maxpool_backward(rng, name):
    """Tie-free inputs: every window has one maximum, so this checks the routing alone."""
    d, x, kwargs, dout = pool_problem(rng, name, ties=False)
    return {"kwargs": kwargs, "x": x, "dout": dout, "expected": oracles.maxpool_backward(x, d["k"], d["s"], dout),
            "overlap": d["k"] > d["s"], "misconceptions": _pool_wrong(x, d, dout, ties=False)}


@case(params=list(POOL_CASES))
def maxpool_backward_ties(rng, name):
    """Small integer inputs: most windows hold tied maxima (the docstring's rule: the first one wins)."""
    d, x, kwargs, dout = pool_problem(rng, name, ties=True)
    return {"kwargs": kwargs, "x": x, "dout": dout, "expected": oracles.maxpool_backward(x, d["k"], d["s"], dout),
            "overlap": d["k"] > d["s"], "misconceptions": _pool_wrong(x, d, dout, ties=True)}


# ---------------------------------------------------------------- layers.py: Linear, ReLU, loss
LINEAR_INPUTS = {"image input (N, C, H, W)": (2, 3, 2), "flat input (N, D)": ()}


@case(params=list(LINEAR_INPUTS))
def linear(rng, kind):
    n, m = 4, 5
    x = rng.normal(size=(n,) + (LINEAR_INPUTS[kind] or (7,)))
    d = int(np.prod(x.shape[1:]))
    params = {"weight": rng.normal(size=(d, m)), "bias": rng.normal(size=m)}
    dout = rng.normal(size=(n, m))
    dx, dw, db = oracles.linear_backward(x, params["weight"], dout)
    return {"kwargs": {"in_features": d, "out_features": m}, "params": params, "x": x, "dout": dout,
            "out": oracles.linear_forward(x, params["weight"], params["bias"]), "dx": dx, "dw": dw, "db": db}


RELU_INPUTS = {"image input, exact zeros included": (3, 2, 4, 4), "flat input (N, D)": (5, 6)}


@case(params=list(RELU_INPUTS))
def relu(rng, kind):
    x = rng.normal(size=RELU_INPUTS[kind])
    x.flat[::5] = 0.0  # the docstring's rule at x == 0: no gradient
    dout = rng.normal(size=x.shape)
    return {"x": x, "dout": dout, "out": oracles.relu(x), "dx": dout * (x > 0), "misconceptions": {
        "the mask comes from dout; it must come from the forward input x (kept in the cache): dx = dout * (x > 0)":
            dout * (dout > 0),
        "dx is the mask alone: multiply the mask (x > 0) by dout": (x > 0).astype(float),
        "the gradient passes where x == 0; the docstring's rule is 0 at x == 0: use x > 0, not x >= 0":
            dout * (x >= 0)}}


@case()
def softmax_cross_entropy(rng):
    n, k = 7, 4
    scores = rng.normal(scale=3.0, size=(n, k))
    scores[0] += 1000.0  # one row near 1000 next to rows near 0: subtract each row's maximum
    y = rng.integers(0, k, size=n)
    probs, loss, dx = oracles.softmax_cross_entropy(scores, y)
    return {"scores": scores, "y": y, "probs": probs, "loss": loss, "dx": dx, "misconceptions": {
        "loss": {"the loss is summed over the batch instead of averaged": loss * n},
        "dx": {"dx is N times too large: divide (probs - one_hot(y)) by the batch size N": dx * n}}}


# ---------------------------------------------------------------- every layer, used twice
TWICE = {
    "Conv2D (3x3, stride 2, padding 1)": "Conv2D",
    "MaxPool2D (3x3, stride 2)": "MaxPool2D",
    "Linear": "Linear",
    "ReLU": "ReLU",
    "SoftmaxCrossEntropy": "SoftmaxCrossEntropy",
}


def _layer_once(kind, kwargs, params, x, dout):
    """The oracle's {"out", "dx", "dw", "db"} of one forward and backward (``dout``: the labels for the loss)."""
    if kind == "Conv2D":
        dx, dw, db, _ = oracles.conv_backward(x, params["weight"], kwargs["stride"], kwargs["padding"], dout)
        return {"out": oracles.conv_forward(x, params["weight"], params["bias"], kwargs["stride"], kwargs["padding"]),
                "dx": dx, "dw": dw, "db": db}
    if kind == "MaxPool2D":
        k, st = kwargs["kernel_size"], kwargs["stride"]
        return {"out": oracles.maxpool_forward(x, k, st), "dx": oracles.maxpool_backward(x, k, st, dout)}
    if kind == "Linear":
        dx, dw, db = oracles.linear_backward(x, params["weight"], dout)
        return {"out": oracles.linear_forward(x, params["weight"], params["bias"]), "dx": dx, "dw": dw, "db": db}
    if kind == "ReLU":
        return {"out": oracles.relu(x), "dx": dout * (x > 0)}
    probs, loss, dx = oracles.softmax_cross_entropy(x, dout)
    return {"out": probs, "loss": loss, "dx": dx}


@case(params=list(TWICE))
def layer_twice(rng, name):
    """One layer object: forward and backward on a first input, then on a second one, then backward again.

    The second call's values must be those of a fresh layer on the second input (nothing left over from
    the first call, e.g. gradients added to the previous ones), and a repeated backward must not change them."""
    kind = TWICE[name]
    kwargs, params = {}, {}
    if kind == "Conv2D":
        kwargs = {"in_channels": 2, "out_channels": 3, "kernel_size": 3, "stride": 2, "padding": 1}
        params = {"weight": rng.normal(size=(3, 2, 3, 3)), "bias": rng.normal(size=3)}
        shape, out_shape = (2, 2, 7, 6), (2, 3, 4, 3)
    elif kind == "MaxPool2D":
        kwargs = {"kernel_size": 3, "stride": 2}
        shape, out_shape = (2, 2, 7, 7), (2, 2, 3, 3)
    elif kind == "Linear":
        kwargs = {"in_features": 12, "out_features": 4}
        params = {"weight": rng.normal(size=(12, 4)), "bias": rng.normal(size=4)}
        shape, out_shape = (3, 3, 2, 2), (3, 4)
    elif kind == "ReLU":
        shape = out_shape = (2, 3, 4, 4)
    else:
        shape = (6, 4)
    runs = []
    for _ in range(2):
        x = rng.normal(size=shape)
        if kind == "SoftmaxCrossEntropy":
            x = 3.0 * x
            other = rng.integers(0, shape[1], size=shape[0])          # the labels
        else:
            other = rng.normal(size=out_shape)                          # the upstream gradient
        runs.append([x, other])
    return {"kind": kind, "kwargs": kwargs, "params": params, "runs": runs,
            "expected": [_layer_once(kind, kwargs, params, x, other) for x, other in runs]}


# ---------------------------------------------------------------- convnet.py
@case()
def convnet_forward_backward(rng):
    spec, x, y = oracles.random_convnet(rng)
    probs, loss, grads, dx = oracles.convnet_forward_backward(spec, x, y)
    return {"spec": spec, "x": x, "y": y, "probs": probs, "loss": loss, "grads": grads, "dx": dx}


# ---------------------------------------------------------------- optim.py
@case()
def momentum_steps(rng):
    steps = 3
    params = [{"weight": rng.normal(size=(3, 2, 3, 3)), "bias": rng.normal(size=3)},
              {"weight": rng.normal(size=(12, 4)), "bias": rng.normal(size=4)}]
    grads = [[{"dw": rng.normal(size=p["weight"].shape), "db": rng.normal(size=p["bias"].shape)} for p in params]
             for _ in range(steps)]
    lr, reg, mu = 0.05, 0.1, 0.9
    return {"params": params, "grads": grads, "learning_rate": lr, "reg": reg, "momentum": mu,
            "expected": oracles.sgd_momentum_steps(params, grads, lr, reg, mu), "misconceptions": {
                "a sign is flipped, so the parameters climb the loss: v = mu * v - lr * g, then w = w + v":
                    oracles.sgd_momentum_steps(params, grads, lr, reg, mu, sign=-1.0),
                "the velocity is not kept between steps (momentum has no effect); keep one velocity per parameter":
                    oracles.sgd_momentum_steps(params, grads, lr, reg, mu, keep_velocity=False),
                "you regularised the biases; only weights get reg * w":
                    oracles.sgd_momentum_steps(params, grads, lr, reg, mu, reg_bias=True),
                "the L2 term is missing: the weight's gradient is dw + reg * w":
                    oracles.sgd_momentum_steps(params, grads, lr, 0.0, mu),
            }}


# ---------------------------------------------------------------- models.py (part 2)
# Part 2 is graded in float32, the dtype students use: every input is drawn as float32 values (kept in
# float64 arrays, so that the oracle computes in float64 from exactly the numbers the worker's float32
# tensors hold), and the checks allow float32 rounding.
def f32(a):
    """``a`` rounded to float32 values (a float64 array)."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def _torch_like(rng, shape, fan_in):
    """Parameters drawn like PyTorch's default initialisation: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = 1.0 / np.sqrt(fan_in)
    return f32(rng.uniform(-bound, bound, size=shape))


@case()
def two_layer_net(rng):
    n, c, h, w, hidden, k = 5, 2, 4, 5, 7, 3
    d = c * h * w
    x = f32(rng.normal(size=(n, c, h, w)))
    w1, b1 = _torch_like(rng, (hidden, d), d), _torch_like(rng, (hidden,), d)
    w2, b2 = _torch_like(rng, (k, hidden), hidden), _torch_like(rng, (k,), hidden)
    return {"kwargs": {"input_dim": d, "hidden_size": hidden, "num_classes": k}, "seed": int(rng.integers(10000)),
            "x": x, "params": [w1, b1, w2, b2], "expected": oracles.two_layer_forward(x, w1, b1, w2, b2),
            "misconceptions": {
                "you used ReLU between the layers; TwoLayerNet uses a sigmoid":
                    oracles.two_layer_forward(x, w1, b1, w2, b2, act=oracles.relu),
                "there is no activation between the two linear layers":
                    oracles.two_layer_forward(x, w1, b1, w2, b2, act=lambda z: z),
                "you applied softmax to the scores; return raw scores (the loss applies the softmax)":
                    np.exp(oracles.log_softmax(oracles.two_layer_forward(x, w1, b1, w2, b2)))}}


@case()
def vanilla_cnn(rng):
    n, c, size, k = 3, 2, 16, 5
    side = (size - 7 + 1) // 2
    x = f32(rng.normal(size=(n, c, size, size)))
    cw, cb = _torch_like(rng, (32, c, 7, 7), c * 49), _torch_like(rng, (32,), c * 49)
    fw, fb = _torch_like(rng, (k, 32 * side * side), 32 * side * side), _torch_like(rng, (k,), 32 * side * side)
    return {"kwargs": {"in_channels": c, "num_classes": k, "image_size": size}, "seed": int(rng.integers(10000)),
            "x": x, "params": [cw, cb, fw, fb], "expected": oracles.vanilla_cnn_forward(x, cw, cb, fw, fb),
            "misconceptions": {"the ReLU is missing after the convolution":
                               oracles.vanilla_cnn_forward(x, cw, cb, fw, fb, use_relu=False)}}


# ---------------------------------------------------------------- losses.py (part 2)
@case(params=["beta 0.9", "beta 0.999", "beta 0.9999"])
def reweight(rng, name):
    beta = float(name.split()[-1])
    k = int(rng.integers(4, 11))
    counts = sorted((int(c) for c in rng.integers(5, 5000, size=k)), reverse=True)
    expected, wrong = oracles.reweight(counts, beta)
    return {"counts": counts, "beta": beta, "expected": expected, "misconceptions": wrong}


FOCAL_CASES = {
    "gamma 0, no weights (plain cross-entropy)": (0.0, False),
    "gamma 0, class weights (weighted cross-entropy)": (0.0, True),
    "gamma 1, no weights": (1.0, False),
    "gamma 2, class weights": (2.0, True),
    # one row near 1000 beside rows near 0, and a correct class 150 below its row's maximum
    "gamma 2, class weights, large scores (a row near 1000)": (2.0, True),
}


@case(params=list(FOCAL_CASES))
def focal_loss(rng, name):
    gamma, weighted = FOCAL_CASES[name]
    n, k = 8, 5
    logits = rng.normal(scale=2.0, size=(n, k))
    y = rng.integers(0, k, size=n)
    large = "large scores" in name
    if large:
        logits[0] += 1000.0                                   # a row near 1000 beside rows near 0
        logits[1, y[1]] = logits[1].max() - 150.0             # p = e^-150: 0 in float32, so log(softmax) = -inf
    logits = f32(logits)
    weight = f32(rng.uniform(0.2, 3.0, size=k)) if weighted else None
    loss = lambda z: oracles.focal_loss(z, y, weight, gamma)  # noqa: E731
    return {"logits": logits, "y": y, "weight": weight, "gamma": gamma, "large": large,
            "expected": loss(logits), "grad": oracles.numerical_gradient_fn(loss, logits),
            "misconceptions": oracles.focal_misconceptions(logits, y, weight, gamma)}


# ---------------------------------------------------------------- trainer.py (part 2)
def _batches(rng, sizes, d=(2, 2, 3), k=4):
    return [(f32(rng.normal(size=(s,) + d)), rng.integers(0, k, size=s)) for s in sizes]


def _mlp_params(rng):
    return {key: f32(value) for key, value in oracles.mlp_params(rng, 12, 6, 4).items()}


@case()
def train_step(rng):
    params = _mlp_params(rng)
    batch = _batches(rng, [8])[0]
    other = _batches(rng, [8])[0]
    batches = [batch, other, batch, batch, batch]
    lr, mu = 0.1, 0.9
    losses, corrects, after = oracles.torch_sgd_steps(params, batches, lr, mu)
    _, _, accumulated = oracles.torch_sgd_steps(params, batches, lr, mu, zero_grad=False)
    return {"params": params, "batches": batches, "learning_rate": lr, "momentum": mu,
            "losses": [float(v) for v in losses], "corrects": [int(v) for v in corrects], "after": after,
            "accumulated": accumulated}


@case()
def evaluate(rng):
    params = _mlp_params(rng)
    batches = _batches(rng, [6, 6, 3], k=3)  # labels 0..2 only: class 3 has no examples (NaN)
    loss, acc, per_class = oracles.evaluate(params, batches)
    return {"params": params, "batches": batches, "loss": float(loss), "accuracy": float(acc),
            "per_class": per_class, "unweighted_loss": oracles.evaluate_unweighted_loss(params, batches)}
