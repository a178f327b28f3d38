"""Reference values for A2's checks, in NumPy only, written independently of the solution.

These run in the grading harness only (part 1's grading path imports no torch, and
neither does this file). They use other formulas than the reference solution: the
convolution is a sum over kernel offsets rather than an im2col product, max-pooling
loops over windows, the focal loss is its closed form. The kit's own tests
(tests/test_a2.py) check every oracle here against torch.nn.functional and autograd.
"""
import numpy as np

from autograder import properties


# ---------------------------------------------------------------- convolution
def out_size(size, k, s, p):
    return (size + 2 * p - k) // s + 1


def _pad(x, p):
    return np.pad(np.asarray(x, dtype=np.float64), ((0, 0), (0, 0), (p, p), (p, p)))


def conv_forward(x, w, b, stride=1, pad=0, flip=False):
    """out[n, f, i, j] = b[f] + sum_{c,a,b} w[f, c, a, b] xpad[n, c, i*s + a, j*s + b].

    flip=True gives a true convolution (the kernel rotated by 180 degrees), a known mistake.
    """
    w = np.asarray(w, dtype=np.float64)
    if flip:
        w = w[:, :, ::-1, ::-1]
    n, _, h, wd = x.shape
    f, _, k, _ = w.shape
    ho, wo = out_size(h, k, stride, pad), out_size(wd, k, stride, pad)
    xp = _pad(x, pad)
    out = np.zeros((n, f, ho, wo)) + np.asarray(b, dtype=np.float64)[None, :, None, None]
    for a in range(k):
        for c in range(k):
            patch = xp[:, :, a:a + stride * (ho - 1) + 1:stride, c:c + stride * (wo - 1) + 1:stride]
            out += np.einsum("nchw,fc->nfhw", patch, w[:, :, a, c])
    return out


def conv_backward(x, w, stride, pad, dout, dx_step_one=False):
    """(dx, dw, db, dx of the padded input) of sum(out * dout) for out = conv_forward(x, w, b, stride, pad).

    dx_step_one=True scatters into dx as if the stride were 1 (a known mistake)."""
    w = np.asarray(w, dtype=np.float64)
    n, _, h, wd = x.shape
    f, _, k, _ = w.shape
    ho, wo = dout.shape[2:]
    xp = _pad(x, pad)
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for a in range(k):
        for c in range(k):
            rows = slice(a, a + stride * (ho - 1) + 1, stride)
            cols = slice(c, c + stride * (wo - 1) + 1, stride)
            dw[:, :, a, c] = np.einsum("nfhw,nchw->fc", dout, xp[:, :, rows, cols])
            if dx_step_one:
                rows, cols = slice(a, a + ho), slice(c, c + wo)
            dxp[:, :, rows, cols] += np.einsum("nfhw,fc->nchw", dout, w[:, :, a, c])
    return dxp[:, :, pad:pad + h, pad:pad + wd], dw, dout.sum(axis=(0, 2, 3)), dxp


def conv_dx_assigned(x, w, stride, pad, dout, last_filter_only=False):
    """dx of a known mistake: each window's contribution is *assigned* (=) to its k x k patch of the
    padded gradient instead of added (+=), windows in row-major order, so where windows overlap
    (stride < k) only the last window's contribution is left. last_filter_only: the assignment is
    made per filter too (loops over f), so only the last filter's contribution is left."""
    w = np.asarray(w, dtype=np.float64)
    n, _, h, wd = x.shape
    f, _, k, _ = w.shape
    ho, wo = dout.shape[2:]
    dxp = np.zeros_like(_pad(x, pad))
    for i in range(ho):
        for j in range(wo):
            rows, cols = slice(i * stride, i * stride + k), slice(j * stride, j * stride + k)
            if last_filter_only:
                dxp[:, :, rows, cols] = dout[:, f - 1, i, j][:, None, None, None] * w[f - 1][None]
            else:
                dxp[:, :, rows, cols] = np.einsum("nf,fcab->ncab", dout[:, :, i, j], w)
    return dxp[:, :, pad:pad + h, pad:pad + wd]


def numerical_gradient(f, x, eps=1e-6):
    """Central finite differences of the scalar f() with respect to the array x (changed and restored)."""
    return properties.numerical_gradient(f, x, eps)


# ---------------------------------------------------------------- max-pooling
def maxpool_forward(x, k, s):
    n, c, h, w = x.shape
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    out = np.empty((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = x[:, :, i * s:i * s + k, j * s:j * s + k].reshape(n, c, -1).max(axis=2)
    return out


def maxpool_backward(x, k, s, dout, ties="first", accumulate=True):
    """dx of max-pooling. ties="first": the first maximum in row-major order gets the gradient
    (PyTorch's rule); known mistakes: "all" (every tied maximum gets it), "last" (the last one in
    row-major order), "split" (the tied maxima share it equally), "transposed" (the window index
    unravelled column-major, so the gradient lands at the mirrored offset).
    accumulate=False: a known mistake where windows overlap (stride < k): the gradient is assigned
    (=), windows in row-major order, so a position that is the maximum of several windows keeps
    only the last window's gradient."""
    n, c, h, w = x.shape
    ho, wo = dout.shape[2:]
    dx = np.zeros((n, c, h, w))
    nn_, cc = np.meshgrid(np.arange(n), np.arange(c), indexing="ij")
    for i in range(ho):
        for j in range(wo):
            win = x[:, :, i * s:i * s + k, j * s:j * s + k]                  # (N, C, k, k)
            g = dout[:, :, i, j][:, :, None, None]
            if ties in ("all", "split"):
                mask = (win == win.max(axis=(2, 3), keepdims=True)).astype(float)
                if ties == "split":
                    mask /= mask.sum(axis=(2, 3), keepdims=True)
                dx[:, :, i * s:i * s + k, j * s:j * s + k] += mask * g
                continue
            flat = win.reshape(n, c, -1)
            if ties == "last":
                chosen = k * k - 1 - flat[:, :, ::-1].argmax(axis=2)
            else:
                chosen = flat.argmax(axis=2)                                  # (N, C), the first maximum
            a, b = np.divmod(chosen, k)
            if ties == "transposed":
                a, b = b, a
            if accumulate:
                np.add.at(dx, (nn_, cc, i * s + a, j * s + b), dout[:, :, i, j])
            else:
                dx[nn_, cc, i * s + a, j * s + b] = dout[:, :, i, j]
    return dx


def tied_input(rng, shape, levels=3):
    """Integer-valued input in 0 .. levels-1, so most pooling windows hold tied maxima."""
    return rng.integers(0, levels, size=shape).astype(np.float64)


# ---------------------------------------------------------------- simple layers and loss
def relu(x):
    return np.where(x > 0, x, 0.0)


def linear_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b


def linear_backward(x, w, dout):
    xf = x.reshape(x.shape[0], -1)
    return (dout @ w.T).reshape(x.shape), xf.T @ dout, dout.sum(axis=0)


def log_softmax(scores):
    scores = np.asarray(scores, dtype=np.float64)
    return scores - np.logaddexp.reduce(scores, axis=1, keepdims=True)


def one_hot(y, k):
    out = np.zeros((len(y), k))
    out[np.arange(len(y)), y] = 1.0
    return out


def softmax_cross_entropy(scores, y):
    """(probs, mean loss, d loss / d scores)."""
    logp = log_softmax(scores)
    probs = np.exp(logp)
    n, k = probs.shape
    loss = float(-(one_hot(y, k) * logp).sum() / n)
    return probs, loss, (probs - one_hot(y, k)) / n


# ---------------------------------------------------------------- a small ConvNet
def random_convnet(rng, channels=None, size=None, classes=None):
    """A conv -> relu -> pool -> linear spec with random parameters, and a batch (x, y)."""
    c = channels or int(rng.integers(1, 4))
    h = size or int(rng.choice([6, 8]))
    f = int(rng.integers(2, 5))
    k_cls = classes or int(rng.integers(3, 6))
    n = int(rng.integers(3, 6))
    hp = h // 2
    spec = [
        {"type": "Conv2D", "kwargs": {"in_channels": c, "out_channels": f, "kernel_size": 3, "stride": 1, "padding": 1},
         "params": {"weight": rng.normal(scale=0.5, size=(f, c, 3, 3)), "bias": rng.normal(scale=0.1, size=f)}},
        {"type": "ReLU", "kwargs": {}},
        {"type": "MaxPool2D", "kwargs": {"kernel_size": 2, "stride": 2}},
        {"type": "Linear", "kwargs": {"in_features": f * hp * hp, "out_features": k_cls},
         "params": {"weight": rng.normal(scale=0.3, size=(f * hp * hp, k_cls)), "bias": rng.normal(scale=0.1, size=k_cls)}},
    ]
    x = rng.normal(size=(n, c, h, h))
    y = rng.integers(0, k_cls, size=n)
    return spec, x, y


def convnet_forward_backward(spec, x, y):
    """probs, loss, and per-layer gradients {i: {"dw", "db"}} plus dx of the input."""
    acts = [x]
    for layer in spec:
        a = acts[-1]
        t, kw = layer["type"], layer["kwargs"]
        if t == "Conv2D":
            a = conv_forward(a, layer["params"]["weight"], layer["params"]["bias"], kw["stride"], kw["padding"])
        elif t == "ReLU":
            a = relu(a)
        elif t == "MaxPool2D":
            a = maxpool_forward(a, kw["kernel_size"], kw["stride"])
        elif t == "Linear":
            a = linear_forward(a, layer["params"]["weight"], layer["params"]["bias"])
        acts.append(a)
    probs, loss, d = softmax_cross_entropy(acts[-1], y)
    grads = {}
    for i in range(len(spec) - 1, -1, -1):
        layer, a = spec[i], acts[i]
        t, kw = layer["type"], layer["kwargs"]
        if t == "Conv2D":
            d, dw, db, _ = conv_backward(a, layer["params"]["weight"], kw["stride"], kw["padding"], d)
            grads[i] = {"dw": dw, "db": db}
        elif t == "ReLU":
            d = d * (a > 0)
        elif t == "MaxPool2D":
            d = maxpool_backward(a, kw["kernel_size"], kw["stride"], d)
        elif t == "Linear":
            d, dw, db = linear_backward(a, layer["params"]["weight"], d)
            grads[i] = {"dw": dw, "db": db}
    return probs, loss, grads, d


# ---------------------------------------------------------------- optimiser
def sgd_momentum_steps(params, grads_seq, lr, reg, mu, reg_bias=False, keep_velocity=True, sign=1.0):
    """Parameters after each step: g = dw + reg w (weights), db (biases); v = mu v - lr g; w = w + v.

    ``params``: list of {"weight", "bias"} (one per layer with parameters); ``grads_seq``:
    per step, a list of {"dw", "db"}. The keyword arguments produce known mistakes.
    """
    params = [{k: np.array(v, dtype=np.float64) for k, v in p.items()} for p in params]
    vel = [{k: np.zeros_like(v) for k, v in p.items()} for p in params]
    out = []
    for grads in grads_seq:
        for p, v, g in zip(params, vel, grads):
            for name, gname in (("weight", "dw"), ("bias", "db")):
                step = g[gname] + (reg * p[name] if (name == "weight" or reg_bias) else 0.0)
                prev = v[name] if keep_velocity else 0.0
                v[name] = mu * prev - sign * lr * step
                p[name] = p[name] + v[name]
        out.append([{k: val.copy() for k, val in p.items()} for p in params])
    return out


# ---------------------------------------------------------------- part 2: losses
def reweight(counts, beta):
    """Class-balanced weights: (1 - beta) / (1 - beta ** n), scaled to sum to K (and two mistakes)."""
    counts = np.asarray(counts, dtype=np.float64)
    inverse_effective = (1.0 - beta) / (1.0 - beta ** counts)
    normalised = inverse_effective * len(counts) / inverse_effective.sum()
    effective = 1.0 / inverse_effective
    return normalised, {
        "the weights are not normalised: scale them so that they sum to the number of classes":
            inverse_effective,
        "you used the effective number (1 - beta^n) / (1 - beta) itself; the weight is its inverse":
            [effective, effective * len(counts) / effective.sum()],
        "the weights sum to 1; they must sum to the number of classes K": normalised / len(counts),
    }


def focal_loss(logits, y, weight=None, gamma=0.0, logp=None):
    """Closed form: sum_n w[y_n] (1 - p_n)^gamma (-log p_n) / sum_n w[y_n]."""
    logp = log_softmax(logits) if logp is None else logp
    n = len(y)
    lp = logp[np.arange(n), y]
    p = np.exp(lp)
    w = np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64)[y]
    return float(np.sum(w * (1.0 - p) ** gamma * -lp) / np.sum(w))


def focal_misconceptions(logits, y, weight, gamma):
    n = len(y)
    logp = log_softmax(logits)
    lp = logp[np.arange(n), y]
    p = np.exp(lp)
    w = np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64)[y]
    per = (1.0 - p) ** gamma * -lp
    with np.errstate(over="ignore", invalid="ignore"):  # raw scores near 1000 (the large-scores case): exp overflows
        raw = focal_loss(logits, y, weight, gamma, logp=np.asarray(logits, dtype=np.float64))
    out = {
        "you applied the focal formula to the raw scores: take log_softmax of the logits first": [raw],
        "the modulating factor is (1 - p)^gamma with p the probability of the correct class, not p^gamma":
            [float(np.sum(w * p ** gamma * -lp) / np.sum(w))],
    }
    if weight is not None:
        out["the class weights are ignored: multiply each example's loss by weight[y]"] = [float(per.mean())]
        out["you divided the weighted sum by N; divide by the sum of the weights of the batch's labels "
            "(as F.cross_entropy does)"] = [float(np.sum(w * per) / n)]
    out["the loss is summed over the batch; take the (weighted) mean"] = [float(np.sum(w * per))]
    out[SIGMOID_FOCAL] = sigmoid_focal_values(logits, y, weight, gamma)
    return out


SIGMOID_FOCAL = ("you computed the sigmoid (binary, one-vs-all) focal loss; this FocalLoss is the softmax one: "
                 "p is softmax(scores)[y], and log p comes from F.log_softmax, one term per example")


def sigmoid_focal_values(logits, y, weight, gamma):
    """Values of the sigmoid focal loss (as torchvision.ops.sigmoid_focal_loss, with one-hot targets),
    reduced the ways students do: the mean over every score, the per-example sum over classes then the
    (weighted) mean, with or without alpha = 0.25, and the target-class term alone."""
    z = np.asarray(logits, dtype=np.float64)
    n, k = z.shape
    t = one_hot(y, k)
    log_p, log_1mp = -np.logaddexp(0.0, -z), -np.logaddexp(0.0, z)       # log sigmoid(z), log(1 - sigmoid(z))
    p = np.exp(log_p)
    bce = -(t * log_p + (1.0 - t) * log_1mp)
    p_t = p * t + (1.0 - p) * (1.0 - t)
    element = (1.0 - p_t) ** gamma * bce                                  # (N, K)
    alpha = 0.25 * t + 0.75 * (1.0 - t)
    w = np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64)[y]
    target_only = (1.0 - p[np.arange(n), y]) ** gamma * -log_p[np.arange(n), y]
    out = []
    for el in (element, alpha * element):
        per_example = el.sum(axis=1)
        out += [float(el.mean()), float(per_example.mean()), float(np.sum(w * per_example) / np.sum(w)),
                float(np.sum(w * per_example) / n), float(np.mean(w[:, None] * el))]
    out += [float(np.sum(w * target_only) / np.sum(w)), float(target_only.mean())]
    return out


def numerical_gradient_fn(f, x, eps=1e-6):
    x = np.array(x, dtype=np.float64)
    return numerical_gradient(lambda: f(x), x, eps)


# ---------------------------------------------------------------- part 2: models from their parameters
def params_by_shape(named, shapes):
    """Pick parameters by shape from [(name, array), ...]; None where a shape is missing or repeated."""
    found = {}
    for shape in shapes:
        hits = [np.asarray(a, dtype=np.float64) for _, a in named if tuple(np.shape(a)) == tuple(shape)]
        found[tuple(shape)] = hits[0] if len(hits) == 1 else None
    return found


def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def two_layer_forward(x, w1, b1, w2, b2, act=sigmoid):
    """PyTorch orientation: w1 (H, D), w2 (K, H)."""
    h = act(x.reshape(x.shape[0], -1) @ w1.T + b1)
    return h @ w2.T + b2


def vanilla_cnn_forward(x, cw, cb, fw, fb, pool=True, use_relu=True):
    a = conv_forward(x, cw, cb, 1, 0)
    if use_relu:
        a = relu(a)
    if pool:
        a = maxpool_forward(a, 2, 2)
    return a.reshape(a.shape[0], -1) @ fw.T + fb


# ---------------------------------------------------------------- part 2: a training step
def mlp_params(rng, d, h, k):
    """Parameters of the probes' Flatten -> Linear(d, h) -> ReLU -> Linear(h, k) (PyTorch orientation)."""
    return {"0.weight": rng.normal(scale=0.5, size=(h, d)), "0.bias": rng.normal(scale=0.1, size=h),
            "2.weight": rng.normal(scale=0.5, size=(k, h)), "2.bias": rng.normal(scale=0.1, size=k)}


def mlp_loss_grad(p, x, y):
    """Mean cross-entropy of the MLP and its gradients (by hand)."""
    xf = x.reshape(x.shape[0], -1)
    z = xf @ p["0.weight"].T + p["0.bias"]
    a = relu(z)
    scores = a @ p["2.weight"].T + p["2.bias"]
    _, loss, d = softmax_cross_entropy(scores, y)
    da = d @ p["2.weight"] * (z > 0)
    grads = {"2.weight": d.T @ a, "2.bias": d.sum(0), "0.weight": da.T @ xf, "0.bias": da.sum(0)}
    correct = int((scores.argmax(axis=1) == y).sum())
    return loss, grads, correct, scores


def torch_sgd_steps(p, batches, lr, mu, zero_grad=True):
    """torch.optim.SGD(lr, momentum=mu) steps (buf = mu buf + g; p -= lr buf), one per batch.

    Returns (losses before each step, corrects, parameters after each step).
    zero_grad=False accumulates the gradients of every batch so far (a known mistake)."""
    p = {k: np.array(v, dtype=np.float64) for k, v in p.items()}
    buf, acc = None, None
    losses, corrects, after = [], [], []
    for x, y in batches:
        loss, g, correct, _ = mlp_loss_grad(p, x, y)
        if not zero_grad and acc is not None:
            g = {k: g[k] + acc[k] for k in g}
        acc = g
        buf = dict(g) if buf is None else {k: mu * buf[k] + g[k] for k in g}
        p = {k: p[k] - lr * buf[k] for k in p}
        losses.append(loss)
        corrects.append(correct)
        after.append({k: v.copy() for k, v in p.items()})
    return losses, corrects, after


def evaluate(p, batches):
    """(mean loss over examples, accuracy, per-class accuracy) of the MLP over the batches."""
    total, n, hits, counts = 0.0, 0, None, None
    for x, y in batches:
        loss, _, _, scores = mlp_loss_grad(p, x, y)
        k = scores.shape[1]
        if hits is None:
            hits, counts = np.zeros(k), np.zeros(k)
        total += loss * len(y)
        n += len(y)
        np.add.at(hits, y, (scores.argmax(axis=1) == y).astype(float))
        np.add.at(counts, y, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = hits / counts
    return total / n, hits.sum() / n, per_class


def evaluate_unweighted_loss(p, batches):
    """The mean of the batch means (a known mistake when the last batch is smaller)."""
    return float(np.mean([mlp_loss_grad(p, x, y)[0] for x, y in batches]))
