"""Assignment 2 specifics: the NumPy oracles against PyTorch, the reference layers against
PyTorch, the CIFAR-10 loaders on tiny CIFAR-format batches, the digits data, training
on real digits, the Trainer's checkpoint and the held-out prediction probe."""
import hashlib
import importlib.util
import os
import pickle
import subprocess
import sys
import urllib.error

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import KIT

A2 = "a2_cnn"
TESTS = KIT.path("assignments", A2, "tests")
sys.path.insert(0, KIT.path("solutions", A2))
from cnn import data, losses, models, trainer  # noqa: E402
from cnn.layers import Conv2D, Linear, MaxPool2D, SoftmaxCrossEntropy  # noqa: E402


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# A2's oracles and probes under names of their own (A1's tests import another `oracles`).
oracles = _load("a2_oracles", os.path.join(TESTS, "oracles.py"))
probes = _load("a2_probes_kit", os.path.join(TESTS, "probes", "a2_probes.py"))


def _load_cases():
    """A2's case builders, which `import oracles`: A2's, under that name only while they load."""
    saved = sys.modules.get("oracles")
    sys.modules["oracles"] = oracles
    try:
        return _load("a2_cases_kit", os.path.join(TESTS, "cases.py"))
    finally:
        if saved is None:
            sys.modules.pop("oracles", None)
        else:
            sys.modules["oracles"] = saved


cases = _load_cases()

CONV_CASES = [  # (N, C, H, W, F, k, stride, padding)
    (2, 3, 7, 6, 4, 3, 1, 1), (2, 2, 9, 7, 3, 3, 2, 1), (1, 2, 6, 8, 3, 5, 1, 2), (3, 3, 8, 6, 2, 2, 2, 0),
    (1, 2, 10, 11, 3, 3, 3, 2), (2, 3, 5, 5, 2, 5, 1, 0), (2, 1, 8, 10, 4, 4, 2, 1),
]


def _t(a):
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)


# ---------------------------------------------------------------- oracles against torch
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_oracle_matches_torch_forward_and_autograd(case):
    n, c, h, w, f, k, s, p = case
    rng = np.random.default_rng(sum(case))
    x, wt, b = rng.normal(size=(n, c, h, w)), rng.normal(size=(f, c, k, k)), rng.normal(size=f)
    tx, tw, tb = _t(x), _t(wt), _t(b)
    out = F.conv2d(tx, tw, tb, stride=s, padding=p)
    np.testing.assert_allclose(oracles.conv_forward(x, wt, b, s, p), out.detach().numpy(), rtol=1e-12, atol=1e-12)
    dout = rng.normal(size=out.shape)
    out.backward(torch.tensor(dout))
    dx, dw, db, dxp = oracles.conv_backward(x, wt, s, p, dout)
    for mine, ref in ((dx, tx.grad), (dw, tw.grad), (db, tb.grad)):
        np.testing.assert_allclose(mine, ref.numpy(), rtol=1e-12, atol=1e-12)
    assert dxp.shape == (n, c, h + 2 * p, w + 2 * p)
    flipped = F.conv2d(tx, tw.flip(2, 3), tb, stride=s, padding=p).detach().numpy()
    np.testing.assert_allclose(oracles.conv_forward(x, wt, b, s, p, flip=True), flipped, rtol=1e-12, atol=1e-12)


def test_finite_differences_agree_with_autograd():
    rng = np.random.default_rng(0)
    x, wt, b = rng.normal(size=(1, 2, 5, 4)), rng.normal(size=(2, 2, 3, 3)), rng.normal(size=2)
    dout = rng.normal(size=(1, 2, 3, 2))
    numeric = oracles.numerical_gradient(lambda: float(np.sum(oracles.conv_forward(x, wt, b, 2, 1) * dout)), x)
    tx = _t(x)
    F.conv2d(tx, torch.tensor(wt), torch.tensor(b), stride=2, padding=1).backward(torch.tensor(dout))
    np.testing.assert_allclose(numeric, tx.grad.numpy(), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("k,s,shape", [(2, 2, (2, 3, 8, 8)), (3, 2, (2, 2, 7, 7)), (2, 2, (2, 2, 9, 6)),
                                       (3, 1, (1, 2, 6, 6)), (3, 3, (2, 3, 9, 12))])
def test_maxpool_oracle_matches_torch_with_ties(k, s, shape):
    rng = np.random.default_rng(k * 10 + s)
    x = oracles.tied_input(rng, shape)
    tx = _t(x)
    out = F.max_pool2d(tx, k, s)
    np.testing.assert_array_equal(oracles.maxpool_forward(x, k, s), out.detach().numpy())
    dout = rng.normal(size=out.shape)
    out.backward(torch.tensor(dout))
    np.testing.assert_allclose(oracles.maxpool_backward(x, k, s, dout), tx.grad.numpy(), rtol=1e-12, atol=1e-12)
    every = oracles.maxpool_backward(x, k, s, dout, ties="all")
    assert not np.allclose(every, tx.grad.numpy()), "the inputs must hold ties, or the ties mistake goes unseen"
    # mass is conserved by the right rule only
    np.testing.assert_allclose(oracles.maxpool_backward(x, k, s, dout).sum(), dout.sum(), rtol=1e-10)


@pytest.mark.parametrize("k,s,shape", [(3, 2, (2, 2, 7, 7)), (3, 1, (1, 2, 6, 6)), (2, 2, (2, 3, 8, 8))])
def test_maxpool_mistake_oracles_match_their_loops(k, s, shape):
    """The tie rules and the = (not +=) mistake the feedback names, against plain loops over every window."""
    rng = np.random.default_rng(k + s)
    x = oracles.tied_input(rng, shape)
    ho, wo = (shape[2] - k) // s + 1, (shape[3] - k) // s + 1
    dout = rng.normal(size=shape[:2] + (ho, wo))
    loops = {rule: np.zeros(shape) for rule in ("first", "last", "split", "assign")}
    for n in range(shape[0]):
        for c in range(shape[1]):
            for i in range(ho):
                for j in range(wo):
                    win = x[n, c, i * s:i * s + k, j * s:j * s + k]
                    hits = [(a, b) for a in range(k) for b in range(k) if win[a, b] == win.max()]
                    g = dout[n, c, i, j]
                    (a, b), (a2, b2) = hits[0], hits[-1]
                    loops["first"][n, c, i * s + a, j * s + b] += g
                    loops["last"][n, c, i * s + a2, j * s + b2] += g
                    loops["assign"][n, c, i * s + a, j * s + b] = g
                    for a, b in hits:
                        loops["split"][n, c, i * s + a, j * s + b] += g / len(hits)
    for rule in ("first", "last", "split"):
        np.testing.assert_allclose(oracles.maxpool_backward(x, k, s, dout, ties=rule), loops[rule], rtol=1e-12,
                                   atol=1e-12)
    np.testing.assert_allclose(oracles.maxpool_backward(x, k, s, dout, accumulate=False), loops["assign"],
                               rtol=1e-12, atol=1e-12)
    assert not np.allclose(loops["last"], loops["first"]) and not np.allclose(loops["split"], loops["first"])
    assert np.allclose(loops["assign"], loops["first"]) == (k == s), "= differs from += exactly where windows overlap"
    # tie-free inputs: every tie rule agrees, so the tie-free cases check the routing alone
    x = rng.normal(size=shape)
    first = oracles.maxpool_backward(x, k, s, dout)
    for rule in ("last", "split", "all"):
        np.testing.assert_allclose(oracles.maxpool_backward(x, k, s, dout, ties=rule), first, rtol=1e-12)


@pytest.mark.parametrize("case", [(2, 3, 7, 6, 4, 3, 1, 1), (2, 2, 9, 7, 3, 3, 2, 1), (3, 3, 8, 6, 2, 2, 2, 0)])
def test_conv_assigned_dx_oracle_matches_a_loop(case):
    """dx of the = (not +=) mistake: each window's contribution assigned to its patch, windows in row-major order."""
    n, c, h, w, f, k, s, p = case
    rng = np.random.default_rng(sum(case))
    x, wt = rng.normal(size=(n, c, h, w)), rng.normal(size=(f, c, k, k))
    ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    dout = rng.normal(size=(n, f, ho, wo))
    dxp = np.zeros((n, c, h + 2 * p, w + 2 * p))
    last_f = np.zeros_like(dxp)
    for i in range(n):
        for g in range(f):
            for r in range(ho):
                for q in range(wo):
                    last_f[i, :, r * s:r * s + k, q * s:q * s + k] = dout[i, g, r, q] * wt[g]
        for r in range(ho):
            for q in range(wo):
                dxp[i, :, r * s:r * s + k, q * s:q * s + k] = sum(dout[i, g, r, q] * wt[g] for g in range(f))
    np.testing.assert_allclose(oracles.conv_dx_assigned(x, wt, s, p, dout), dxp[:, :, p:p + h, p:p + w], rtol=1e-12)
    np.testing.assert_allclose(oracles.conv_dx_assigned(x, wt, s, p, dout, last_filter_only=True),
                               last_f[:, :, p:p + h, p:p + w], rtol=1e-12)
    right = oracles.conv_backward(x, wt, s, p, dout)[0]
    assert np.allclose(oracles.conv_dx_assigned(x, wt, s, p, dout), right) == (k <= s)


def test_sigmoid_focal_alternatives_include_torchvision():
    """The sigmoid focal loss the feedback recognises is torchvision's (mean and sum reductions), not the softmax one."""
    from torchvision.ops import sigmoid_focal_loss

    rng = np.random.default_rng(5)
    logits, y = rng.normal(scale=2.0, size=(8, 5)), rng.integers(0, 5, 8)
    t = F.one_hot(torch.tensor(y), 5).double()
    values = oracles.sigmoid_focal_values(logits, y, None, 2.0)
    for alpha in (0.25, -1):
        tv = sigmoid_focal_loss(torch.tensor(logits), t, alpha=alpha, gamma=2.0, reduction="none")
        for reduced in (tv.mean(), tv.sum(1).mean()):
            assert any(np.isclose(float(reduced), v, rtol=1e-12) for v in values)
    assert not any(np.isclose(oracles.focal_loss(logits, y, None, 2.0), v, rtol=1e-3) for v in values)


def test_focal_large_scores_case_defeats_log_of_softmax_in_float32():
    """The large-scores case: finite for log_softmax in float32, -inf (so inf) for log(softmax(...))."""
    c = cases.focal_loss(np.random.default_rng(0), [p for p in cases.focal_loss.params if "large" in p][0])
    x = torch.tensor(c["logits"], dtype=torch.float32)
    yt = torch.tensor(c["y"])
    w = torch.tensor(c["weight"], dtype=torch.float32)
    good = losses.FocalLoss(weight=w, gamma=2.0)(x, yt)
    assert np.isclose(float(good), c["expected"], rtol=1e-5)
    log_p = torch.log(torch.softmax(x, 1))
    bad = F.nll_loss((1 - log_p.exp()) ** 2 * log_p, yt, weight=w)
    assert not torch.isfinite(bad)
    assert np.abs(c["logits"]).max() > 900 and np.abs(c["logits"][2]).max() < 20


def test_precision_feedback_names_float32_not_a_formula():
    """A float32 convolution misses at 1e-6 only: the part-1 feedback says precision and float64, not a hint."""
    feedback = _load("a2_feedback_kit", os.path.join(TESTS, "public", "a2_feedback.py"))
    from autograder import Feedback

    rng = np.random.default_rng(0)
    x, wt, b = rng.normal(size=(2, 3, 7, 6)), rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4)
    expected = oracles.conv_forward(x, wt, b, 1, 1)
    low = F.conv2d(torch.tensor(x, dtype=torch.float32), torch.tensor(wt, dtype=torch.float32),
                   torch.tensor(b, dtype=torch.float32), padding=1).numpy()
    with pytest.raises(Feedback) as exc:
        feedback.expect_close64(low, expected, name="cnn.layers.Conv2D.forward", rtol=1e-6, atol=1e-9,
                                hint="H_out = ...")
    assert "precision problem" in str(exc.value) and "float64" in str(exc.value) and "H_out" not in str(exc.value)
    with pytest.raises(Feedback) as exc:  # a wrong formula keeps its hint
        feedback.expect_close64(expected * 1.5, expected, name="f", rtol=1e-6, atol=1e-9, hint="H_out = ...")
    assert "precision" not in str(exc.value) and "H_out" in str(exc.value)
    # part 2: the same float32 result passes the float32 tolerances
    feedback.expect_close32(low, expected, name="f", rtol=1e-4, atol=1e-5)


def test_linear_and_softmax_cross_entropy_oracles_match_torch():
    rng = np.random.default_rng(1)
    x, w, b, y = rng.normal(size=(4, 2, 3, 2)), rng.normal(size=(12, 5)), rng.normal(size=5), rng.integers(0, 5, 4)
    tx, tw, tb = _t(x), _t(w), _t(b)
    scores = tx.flatten(1) @ tw + tb
    np.testing.assert_allclose(oracles.linear_forward(x, w, b), scores.detach().numpy(), rtol=1e-12)
    loss = F.cross_entropy(scores, torch.tensor(y))
    ts = scores.detach().requires_grad_(True)
    F.cross_entropy(ts, torch.tensor(y)).backward()
    probs, oloss, dscores = oracles.softmax_cross_entropy(scores.detach().numpy(), y)
    assert np.isclose(oloss, loss.item(), rtol=1e-12)
    np.testing.assert_allclose(dscores, ts.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(probs, torch.softmax(scores, 1).detach().numpy(), rtol=1e-12)
    loss.backward()
    dx, dw, db = oracles.linear_backward(x, w, dscores)
    for mine, ref in ((dx, tx.grad), (dw, tw.grad), (db, tb.grad)):
        np.testing.assert_allclose(mine, ref.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("seed", range(3))
def test_convnet_oracle_matches_torch_autograd(seed):
    rng = np.random.default_rng(seed)
    spec, x, y = oracles.random_convnet(rng)
    conv, lin = spec[0], spec[3]
    cw, cb, lw, lb = (_t(a) for a in (conv["params"]["weight"], conv["params"]["bias"], lin["params"]["weight"],
                                      lin["params"]["bias"]))
    tx = _t(x)
    scores = F.max_pool2d(F.relu(F.conv2d(tx, cw, cb, padding=1)), 2, 2).flatten(1) @ lw + lb
    loss = F.cross_entropy(scores, torch.tensor(y))
    loss.backward()
    probs, oloss, grads, dx = oracles.convnet_forward_backward(spec, x, y)
    assert np.isclose(oloss, loss.item(), rtol=1e-12)
    for mine, ref in ((grads[0]["dw"], cw), (grads[0]["db"], cb), (grads[3]["dw"], lw), (grads[3]["db"], lb),
                      (dx, tx)):
        np.testing.assert_allclose(mine, ref.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_momentum_oracle_matches_torch_sgd_and_a_hand_computation():
    """Ours (v = mu v - lr g, w += v, L2 on weights) equals torch.optim.SGD with weight decay on weights only."""
    rng = np.random.default_rng(0)
    params = [{"weight": rng.normal(size=(3, 2)), "bias": rng.normal(size=2)}]
    grads = [[{"dw": rng.normal(size=(3, 2)), "db": rng.normal(size=2)}] for _ in range(4)]
    lr, reg, mu = 0.1, 0.05, 0.9
    tw, tb = (torch.tensor(params[0][k].copy(), requires_grad=True) for k in ("weight", "bias"))
    opt = torch.optim.SGD([{"params": [tw], "weight_decay": reg}, {"params": [tb], "weight_decay": 0.0}],
                          lr=lr, momentum=mu)
    ours = oracles.sgd_momentum_steps(params, grads, lr, reg, mu)
    for step, g in enumerate(grads):
        tw.grad, tb.grad = torch.tensor(g[0]["dw"]), torch.tensor(g[0]["db"])
        opt.step()
        np.testing.assert_allclose(ours[step][0]["weight"], tw.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(ours[step][0]["bias"], tb.detach().numpy(), rtol=1e-12)
    # two steps by hand for one number
    w0, g1, g2 = params[0]["weight"][0, 0], grads[0][0]["dw"][0, 0], grads[1][0]["dw"][0, 0]
    v1 = -lr * (g1 + reg * w0)
    w1 = w0 + v1
    w2 = w1 + mu * v1 - lr * (g2 + reg * w1)
    assert np.isclose(ours[1][0]["weight"][0, 0], w2, rtol=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_focal_oracle_matches_cross_entropy_and_its_closed_form(gamma, weighted):
    rng = np.random.default_rng(int(gamma * 10) + weighted)
    logits, y = rng.normal(scale=2.0, size=(9, 4)), rng.integers(0, 4, 9)
    weight = rng.uniform(0.2, 3.0, 4) if weighted else None
    tw = None if weight is None else torch.tensor(weight)
    tl = torch.tensor(logits)
    p = torch.softmax(tl, 1)[torch.arange(9), torch.tensor(y)]
    wy = torch.ones(9, dtype=torch.float64) if tw is None else tw[torch.tensor(y)]
    closed = float((wy * (1 - p) ** gamma * -p.log()).sum() / wy.sum())
    assert np.isclose(oracles.focal_loss(logits, y, weight, gamma), closed, rtol=1e-12)
    if gamma == 0.0:
        assert np.isclose(oracles.focal_loss(logits, y, weight, 0.0),
                          float(F.cross_entropy(tl, torch.tensor(y), weight=tw)), rtol=1e-12)
    # the reference FocalLoss agrees, and its autograd gradient matches the oracle's finite differences
    x = tl.clone().requires_grad_(True)
    loss = losses.FocalLoss(weight=tw, gamma=gamma)(x, torch.tensor(y))
    loss.backward()
    assert np.isclose(float(loss), closed, rtol=1e-12)
    numeric = oracles.numerical_gradient_fn(lambda z: oracles.focal_loss(z, y, weight, gamma), logits)
    np.testing.assert_allclose(x.grad.numpy(), numeric, rtol=1e-5, atol=1e-8)


def test_reweight_oracle_and_reference_values():
    counts = [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    beta = 0.9999
    by_hand = np.array([(1 - beta) / (1 - beta ** n) for n in counts])
    by_hand = by_hand / by_hand.sum() * 10
    expected, wrong = oracles.reweight(counts, beta)
    np.testing.assert_allclose(expected, by_hand, rtol=1e-12)
    ref = losses.reweight(counts, beta)
    assert ref.dtype == torch.float32 and ref.shape == (10,)
    np.testing.assert_allclose(ref.numpy(), by_hand, rtol=1e-6)
    assert np.isclose(float(ref.sum()), 10.0, rtol=1e-6)
    assert np.all(np.diff(ref.numpy()) > 0), "rarer classes get larger weights"
    np.testing.assert_allclose(losses.reweight(counts, 0.0).numpy(), np.ones(10))
    assert not any(np.allclose(expected, alt) for alts in wrong.values()
                   for alt in (alts if isinstance(alts, list) else [alts]))


def test_train_step_and_evaluate_oracles_match_torch():
    rng = np.random.default_rng(3)
    # float32 values (the probes' MLP is float32), so that the float64 copy below holds the very same numbers
    params = {k: v.astype(np.float32).astype(np.float64) for k, v in oracles.mlp_params(rng, 12, 6, 4).items()}
    batches = [(rng.normal(size=(5, 2, 2, 3)), rng.integers(0, 4, 5)) for _ in range(3)]
    model = probes._mlp(params).double()  # the probes' MLP is float32; in float64 here to check the oracle to 1e-12
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    ref_losses = []
    for x, y in batches:
        opt.zero_grad()
        loss = F.cross_entropy(model(torch.tensor(x)), torch.tensor(y))
        loss.backward()
        opt.step()
        ref_losses.append(float(loss))
    losses_, _, after = oracles.torch_sgd_steps(params, batches, 0.1, 0.9)
    np.testing.assert_allclose(losses_, ref_losses, rtol=1e-12)
    np.testing.assert_allclose(after[-1]["0.weight"], model[1].weight.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(after[-1]["2.bias"], model[3].bias.detach().numpy(), rtol=1e-10)
    # the reference's evaluate agrees with the oracle, NaN for an absent class included
    batches = [(rng.normal(size=(s, 2, 2, 3)), rng.integers(0, 3, s)) for s in (6, 6, 3)]
    loss, acc, per_class = trainer.evaluate(probes._mlp(params).double(), torch.nn.CrossEntropyLoss(),
                                            [(torch.tensor(x), torch.tensor(y)) for x, y in batches])
    oloss, oacc, oper = oracles.evaluate(params, batches)
    assert np.isclose(loss, oloss, rtol=1e-12) and np.isclose(acc, oacc)
    np.testing.assert_allclose(per_class.numpy(), oper, rtol=1e-6)
    assert np.isnan(oper[3]) and np.isnan(per_class[3].item())


# ---------------------------------------------------------------- the reference, part 1, against torch
@pytest.mark.parametrize("case", CONV_CASES)
def test_reference_conv2d_matches_torch(case):
    n, c, h, w, f, k, s, p = case
    rng = np.random.default_rng(sum(case) + 1)
    layer = Conv2D(c, f, k, s, p, seed=0)
    layer.bias = rng.normal(size=f)
    x = rng.normal(size=(n, c, h, w))
    tx, tw, tb = _t(x), _t(layer.weight), _t(layer.bias)
    out = F.conv2d(tx, tw, tb, stride=s, padding=p)
    np.testing.assert_allclose(layer.forward(x), out.detach().numpy(), rtol=1e-10, atol=1e-12)
    dout = rng.normal(size=out.shape)
    out.backward(torch.tensor(dout))
    layer.backward(dout)
    for mine, ref in ((layer.dx, tx), (layer.dw, tw), (layer.db, tb)):
        np.testing.assert_allclose(mine, ref.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_reference_layers_keep_float32_and_leave_inputs_alone():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 8, 8)).astype(np.float32)
    before = x.copy()
    conv = Conv2D(3, 4, 3, padding=1, seed=0)
    conv.weight, conv.bias = conv.weight.astype(np.float32), conv.bias.astype(np.float32)
    pool, lin = MaxPool2D(2, 2), Linear(4 * 4 * 4, 5, seed=0)
    out = lin.forward(pool.forward(conv.forward(x)))
    assert out.shape == (2, 5)
    assert conv.forward(x).dtype == np.float32 and pool.forward(conv.forward(x)).dtype == np.float32
    np.testing.assert_array_equal(x, before)
    probs, loss = SoftmaxCrossEntropy().forward(np.array([[1000.0, 0.0]]), np.array([1]))
    assert np.isfinite(loss) and np.isclose(probs.sum(), 1.0)


# ---------------------------------------------------------------- CIFAR-10 on tiny real-format batches
def _write_cifar(root, per_class_train=20, per_class_test=3, seed=0):
    """cifar-10-batches-py in the real format: pickled dicts of uint8 rows (N, 3072) and labels."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    labels = np.repeat(np.arange(10), per_class_train)
    rng.shuffle(labels)
    images = rng.integers(0, 256, size=(len(labels), 3072), dtype=np.uint8)
    images[:, 0] = labels * 20  # the label is readable from the first pixel
    md5 = {}
    for i, part in enumerate(np.array_split(np.arange(len(labels)), 5)):
        name = "data_batch_%d" % (i + 1)
        md5[name] = _dump(folder / name, {"batch_label": name, "labels": labels[part].tolist(),
                                          "data": images[part], "filenames": ["x.png"] * len(part)})
    test_labels = np.repeat(np.arange(10), per_class_test)
    test_images = rng.integers(0, 256, size=(len(test_labels), 3072), dtype=np.uint8)
    md5["test_batch"] = _dump(folder / "test_batch", {"batch_label": "test", "labels": test_labels.tolist(),
                                                      "data": test_images, "filenames": ["t.png"] * len(test_labels)})
    md5["batches.meta"] = _dump(folder / "batches.meta", {"label_names": list(data.CIFAR10_CLASSES),
                                                          "num_cases_per_batch": 40, "num_vis": 3072})
    return labels, images, md5


def _dump(path, obj):
    with open(path, "wb") as fh:
        pickle.dump(obj, fh)
    with open(path, "rb") as fh:
        return hashlib.md5(fh.read()).hexdigest()


@pytest.fixture
def tiny_cifar(tmp_path, monkeypatch):
    """Tiny batches, torchvision's checksums pointed at them, and every download patched out."""
    import torchvision.datasets.cifar as tv_cifar

    labels, images, md5 = _write_cifar(tmp_path)
    cls = tv_cifar.CIFAR10
    monkeypatch.setattr(cls, "train_list", [[n, md5[n]] for n in ("data_batch_%d" % i for i in range(1, 6))])
    monkeypatch.setattr(cls, "test_list", [["test_batch", md5["test_batch"]]])
    monkeypatch.setattr(cls, "meta", dict(cls.meta, md5=md5["batches.meta"]))

    def no_download(*args, **kwargs):
        raise AssertionError("the CIFAR-10 loader tried to download although the files exist")

    monkeypatch.setattr(tv_cifar, "download_and_extract_archive", no_download)
    return tmp_path, labels, images


def test_cifar10_reads_tiny_batches_with_augmentation(tiny_cifar):
    root, labels, images = tiny_cifar
    train = data.cifar10(str(root), train=True, download=True, augment=True)
    test = data.cifar10(str(root), train=False, download=True)
    assert len(train) == 200 and len(test) == 30 and train.classes == list(data.CIFAR10_CLASSES)
    x, y = test[4]
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32 and isinstance(y, int)
    assert [type(t).__name__ for t in train.transform.transforms] == ["RandomCrop", "RandomHorizontalFlip",
                                                                      "ToTensor", "Normalize"]
    assert [type(t).__name__ for t in test.transform.transforms] == ["ToTensor", "Normalize"]
    plain = data.cifar10(str(root), train=True, download=False, augment=False)
    x0, y0 = plain[0]
    assert y0 == labels[0]
    raw = images[0].reshape(3, 32, 32)[0, 0, 0] / 255.0
    assert np.isclose(float(x0[0, 0, 0]), (raw - data.CIFAR10_MEAN[0]) / data.CIFAR10_STD[0], atol=1e-6)


def test_imbalanced_cifar10_follows_the_exponential_profile(tiny_cifar):
    root, labels, images = tiny_cifar
    ds = data.ImbalancedCIFAR10(str(root), imbalance_ratio=10, download=True, augment=False, seed=1)
    expected = [int(20 * 10 ** (-c / 9)) for c in range(10)]
    assert ds.class_counts == expected == data.class_counts(10, 20, 10)
    assert expected[0] == 20 and expected[-1] == 2 and all(a >= b for a, b in zip(expected, expected[1:]))
    assert np.bincount(ds.targets, minlength=10).tolist() == expected and len(ds) == sum(expected)
    # every kept image is still paired with its own label (first pixel = 20 * label)
    assert all(int(img[0, 0, 0]) == 20 * t for img, t in zip(ds.data, ds.targets))
    assert data.ImbalancedCIFAR10(str(root), imbalance_ratio=1, download=False).class_counts == [20] * 10
    with pytest.raises(ValueError, match="imbalance_ratio"):
        data.class_counts(10, 20, 0.5)


def test_cifar10_missing_gives_one_clear_line(tmp_path, monkeypatch):
    import torchvision.datasets.cifar as tv_cifar

    with pytest.raises(data.DatasetNotFound, match="download=True") as info:
        data.cifar10(str(tmp_path / "none"), download=False)
    assert "\n" not in str(info.value)

    def offline(url, *args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(tv_cifar, "download_and_extract_archive", offline)
    with pytest.raises(data.DatasetNotFound, match="could not download CIFAR-10") as info:
        data.ImbalancedCIFAR10(str(tmp_path / "none"), download=True)
    assert "\n" not in str(info.value) and "digits" in str(info.value)


# ---------------------------------------------------------------- digits, training, Trainer, predict probe
def test_digits_are_shaped_for_the_models():
    train, test = data.digits()
    assert len(train) == 1437 and len(test) == 360
    x, y = train.tensors
    assert x.shape == (1437, 3, 32, 32) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert torch.equal(x[:, :, ::4, ::4].repeat_interleave(4, 2).repeat_interleave(4, 3), x)
    raw, _ = data.digits(normalize=False)
    assert float(raw.tensors[0].min()) == 0.0 and float(raw.tensors[0].max()) == 1.0
    assert torch.equal(raw.tensors[0][:, 0], raw.tensors[0][:, 2])
    mean = torch.tensor(data.CIFAR10_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(data.CIFAR10_STD).view(1, 3, 1, 1)
    assert torch.allclose(x, (raw.tensors[0] - mean) / std, atol=1e-6)
    images, labels = data.digits_uint8()
    assert images.shape == (1797, 32, 32, 3) and images.dtype == np.uint8 and images.max() == 255
    np.testing.assert_array_equal(test.tensors[1].numpy(), labels[::5])
    sub, test2, counts = data.imbalanced_digits(imbalance_ratio=10)
    assert counts == data.class_counts(10, min(np.bincount(y.numpy())), 10) and len(sub) == sum(counts)
    assert len(test2) == 360


def test_offline_heldout_digits_are_the_digits_test_split():
    """The engine's offline held-out set (autograder.heldout.digits32) is the split cnn.data.digits leaves out."""
    heldout = pytest.importorskip("autograder.heldout")
    if not hasattr(heldout, "digits32"):
        pytest.skip("autograder.heldout has no digits32")
    images, labels = heldout.digits32()
    mine, my_labels = data.digits_uint8()
    np.testing.assert_array_equal(images, mine[::5])
    np.testing.assert_array_equal(labels, my_labels[::5])


def test_prepare_images_is_the_cifar10_test_transform(tiny_cifar):
    root, _, _ = tiny_cifar
    test = data.cifar10(str(root), train=False, download=False)
    batch = data.prepare_images(test.data[:5])
    assert batch.shape == (5, 3, 32, 32) and batch.dtype == torch.float32
    assert torch.allclose(batch, torch.stack([test[i][0] for i in range(5)]), atol=1e-6)


def test_vanilla_cnn_trains_on_digits_and_trainer_keeps_the_best_checkpoint(tmp_path):
    torch.manual_seed(0)
    train, test = data.digits()
    train_loader, test_loader = data.loaders(train, test, batch_size=64)
    model = models.VanillaCNN(in_channels=3, num_classes=10, image_size=32)
    crit = torch.nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    ckpt = tmp_path / "ckpt" / "best.pt"
    fit = trainer.Trainer(model, crit, opt, train_loader, test_loader, checkpoint_path=str(ckpt))
    history = fit.fit(2, progress=False)
    assert len(history["val_acc"]) == 2 and history["train_loss"][1] < history["train_loss"][0]
    assert fit.best_accuracy >= 0.9, "VanillaCNN reached only %.3f on digits" % fit.best_accuracy
    assert fit.best_accuracy == max(history["val_acc"]) and fit.best_epoch == 1 + int(np.argmax(history["val_acc"]))
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    assert os.listdir(ckpt.parent) == ["best.pt"]
    fresh = models.VanillaCNN()
    fresh.load_state_dict(state)
    _, acc, per_class = trainer.evaluate(fresh, crit, test_loader)
    assert acc == fit.best_accuracy and per_class.shape == (10,)
    assert trainer.evaluate(model, crit, test_loader)[1] == fit.best_accuracy  # fit restored the best weights


def test_models_shapes_and_the_predict_probe(tmp_path):
    x = torch.randn(4, 3, 32, 32)
    assert models.TwoLayerNet(3 * 32 * 32, 16, 10)(x).shape == (4, 10)
    assert models.VanillaCNN()(x).shape == (4, 10)
    torch.manual_seed(1)
    mine = models.MyModel().eval()
    assert mine(x).shape == (4, 10) and sum(p.numel() for p in mine.parameters()) < 500_000
    path = tmp_path / "my_model.pt"
    torch.save(mine.state_dict(), path)
    images = np.random.default_rng(0).integers(0, 256, size=(10, 32, 32, 3), dtype=np.uint8)
    got = probes.predict(str(path), images, batch_size=4)
    with torch.no_grad():
        want = mine(data.prepare_images(images)).argmax(1)
    assert got.dtype == torch.int64 and got.shape == (10,) and torch.equal(got, want)


def test_part1_grading_path_imports_no_torch():
    """Part 1's oracles, case builders, probes, the public fixtures and the reference layers run without torch."""
    code = (
        "import sys, importlib.util, numpy as np\n"
        "sys.path[:0] = [%r, %r, %r, %r, %r]\n"
        "import oracles, cases, a2_probes\n"
        "from autograder import fixtures\n"
        "rng = np.random.default_rng(0)\n"
        "spec, x, y = oracles.random_convnet(rng)\n"
        "out = a2_probes.convnet_forward_backward(spec, x, y)\n"
        "probs, loss, grads, dx = oracles.convnet_forward_backward(spec, x, y)\n"
        "assert np.allclose(out['probs'], probs) and np.allclose(out['dx'], dx)\n"
        "p = [{'weight': np.ones((2, 2)), 'bias': np.zeros(2)}]\n"
        "g = [[{'dw': np.ones((2, 2)), 'db': np.ones(2)}]]\n"
        "a2_probes.sgd_steps({'learning_rate': 0.1, 'reg': 0.0, 'momentum': 0.9}, p, g)\n"
        "for b in (cases.conv_forward, cases.conv_backward, cases.maxpool_forward, cases.maxpool_backward,\n"
        "          cases.maxpool_backward_ties, cases.linear, cases.relu, cases.layer_twice):\n"
        "    for param in b.params:\n"
        "        b(rng, param)\n"
        "for b in (cases.conv_finite_differences, cases.softmax_cross_entropy,\n"
        "          cases.convnet_forward_backward, cases.momentum_steps):\n"
        "    b(rng)\n"
        "c = cases.layer_twice(rng, 'Conv2D (3x3, stride 2, padding 1)')\n"
        "a2_probes.layer_twice('Conv2D', c['kwargs'], c['params'], c['runs'])\n"
        "c = cases.conv_finite_differences(rng)\n"
        "a2_probes.layer_forwards('Conv2D', c['kwargs'], [(c['params'], c['x'])])\n"
        "data = fixtures.load(%r)\n"
        "assert 'conv_forward' in data['cases'] and 'momentum_steps' in data['cases']\n"
        "print(sorted(m for m in ('torch', 'torchvision', 'sklearn') if m in sys.modules))\n"
        % (KIT.root, TESTS, os.path.join(TESTS, "public"), os.path.join(TESTS, "probes"), KIT.path("solutions", A2),
           os.path.join(TESTS, "fixtures")))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_starter_imports_cleanly_and_stubs_name_their_function():
    code = ("import sys; sys.path.insert(0, %r)\n"
            "import numpy as np\n"
            "from cnn import layers, convnet, optim, models, losses, trainer, data\n"
            "try:\n    layers.Conv2D(1, 2, 3).forward(np.zeros((1, 1, 4, 4)))\n"
            "except NotImplementedError as e:\n    print(e)\n"
            "try:\n    losses.reweight([1, 2])\n"
            "except NotImplementedError as e:\n    print(e)\n" % KIT.path("student_starter", A2))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["cnn.layers.Conv2D.forward", "cnn.losses.reweight"]


def test_manifest_records_torchvision_cifar10_checksums():
    from autograder.config import _load_toml
    import torchvision.datasets.cifar as tv_cifar

    entry = _load_toml(KIT.path("datasets", "manifest.toml"))["cifar10"]
    cls = tv_cifar.CIFAR10
    assert entry["archives"]["all"]["url"] == cls.url and entry["archives"]["all"]["md5"] == cls.tgz_md5
    assert entry["files"] == dict(cls.train_list + cls.test_list + [[cls.meta["filename"], cls.meta["md5"]]])
