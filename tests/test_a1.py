"""Assignment 1 specifics: the oracles against PyTorch autograd, the reference against the
oracles, the data loaders on tiny real-format files, and training on real digits."""
import struct
import sys

import numpy as np
import pytest
import torch

from conftest import A1, KIT

sys.path.insert(0, KIT.path("assignments", A1, "tests"))
sys.path.insert(0, KIT.path("solutions", A1))
import oracles  # noqa: E402
from neural_nets import data as ref_data  # noqa: E402
from neural_nets import models as ref_models  # noqa: E402
from neural_nets.optim import SGD  # noqa: E402
from neural_nets.train import evaluate, train  # noqa: E402


def torch_loss(weights, X, y):
    t = {k: torch.tensor(v, requires_grad=True) for k, v in weights.items()}
    h = torch.tensor(X) @ t["W1"] + t["b1"]
    if "W2" in t:
        h = torch.sigmoid(h) @ t["W2"] + t["b2"]
    loss = torch.nn.functional.cross_entropy(h, torch.tensor(y))
    loss.backward()
    return float(loss.detach()), {k: v.grad.numpy() for k, v in t.items()}


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("kind", ["SoftmaxRegression", "TwoLayerNet"])
def test_oracle_gradients_match_torch_autograd(kind, seed):
    rng = np.random.default_rng(seed)
    weights, X, y, _ = oracles.random_model(rng, kind)
    loss, grads = torch_loss(weights, X, y)
    assert np.isclose(oracles.model_loss(weights, X, y), loss, rtol=1e-10)
    mine = oracles.model_gradients(weights, X, y)
    for k in grads:
        np.testing.assert_allclose(mine[k], grads[k], rtol=1e-9, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("kind", ["SoftmaxRegression", "TwoLayerNet"])
def test_reference_models_match_torch(kind):
    rng = np.random.default_rng(42)
    weights, X, y, kwargs = oracles.random_model(rng, kind)
    model = getattr(ref_models, kind)(**kwargs)
    model.weights = {k: v.copy() for k, v in weights.items()}
    loss, _ = model.forward(X, y)
    tloss, tgrads = torch_loss(weights, X, y)
    assert np.isclose(loss, tloss)
    for k in tgrads:
        np.testing.assert_allclose(model.gradients[k], tgrads[k], rtol=1e-9, atol=1e-12, err_msg=k)


def test_oracle_sgd_matches_torch_sgd():
    """Our update (v = mu v - lr g, w += v, L2 on W only) equals torch.optim.SGD with weight decay on W."""
    rng = np.random.default_rng(0)
    weights = {"W1": rng.normal(size=(3, 2)), "b1": rng.normal(size=2)}
    grads = [{k: rng.normal(size=v.shape) for k, v in weights.items()} for _ in range(5)]
    lr, reg, mu = 0.1, 0.05, 0.9
    params = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in weights.items()}
    opt = torch.optim.SGD([{"params": [params["W1"]], "weight_decay": reg},
                           {"params": [params["b1"]], "weight_decay": 0.0}], lr=lr, momentum=mu)
    ours = oracles.sgd_steps(weights, grads, lr, reg, mu)
    for step, g in enumerate(grads):
        for k, p in params.items():
            p.grad = torch.tensor(g[k])
        opt.step()
        for k, p in params.items():
            np.testing.assert_allclose(ours[step][k], p.detach().numpy(), rtol=1e-12, err_msg=(step, k))


def _write_idx(path, array, magic):
    raw = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape) + array.tobytes()
    with open(path, "wb") as fh:
        fh.write(raw)


def test_load_mnist_reads_idx_files(tmp_path, monkeypatch):
    """torchvision's MNIST on tiny IDX files in the real format; downloading is patched out."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    sets = {"train": (rng.integers(0, 256, size=(6, 28, 28), dtype=np.uint8), rng.integers(0, 10, 6).astype(np.uint8)),
            "t10k": (rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8), rng.integers(0, 10, 3).astype(np.uint8))}
    for prefix, (images, labels) in sets.items():
        _write_idx(raw / ("%s-images-idx3-ubyte" % prefix), images, 2051)
        _write_idx(raw / ("%s-labels-idx1-ubyte" % prefix), labels, 2049)
    import torchvision.datasets.mnist as tv_mnist

    def no_network(*args, **kwargs):
        raise AssertionError("load_mnist tried to download although the files exist")

    monkeypatch.setattr(tv_mnist, "download_and_extract_archive", no_network)
    X_train, y_train, X_test, y_test = ref_data.load_mnist(str(tmp_path), download=True)
    assert X_train.shape == (6, 784) and X_test.shape == (3, 784)
    assert X_train.dtype == np.float64 and 0.0 <= X_train.min() and X_train.max() <= 1.0
    np.testing.assert_allclose(X_train[2], sets["train"][0][2].reshape(-1) / 255.0)
    assert y_train.tolist() == sets["train"][1].tolist() and y_test.dtype == np.int64


def test_load_mnist_missing_gives_clear_error(tmp_path):
    with pytest.raises(ref_data.DatasetNotFound, match="download=True"):
        ref_data.load_mnist(str(tmp_path / "nothing"), download=False)


def test_load_digits_is_real_and_offline():
    X_train, y_train, X_test, y_test = ref_data.load_digits()
    assert X_train.shape[1] == 64 and len(X_train) + len(X_test) == 1797
    assert X_train.max() <= 1.0 and set(np.unique(y_train)) == set(range(10))


def test_two_layer_net_reaches_90_percent_on_digits():
    """The reference TwoLayerNet with the reference optimiser learns the real digits."""
    X, y, X_test, y_test = ref_data.load_digits()
    data = ref_data.train_val_split(X, y, 0.2, seed=0)
    model = ref_models.TwoLayerNet(input_size=64, num_classes=10, hidden_size=64, seed=0)
    hist = train(model, SGD(learning_rate=0.5, reg=1e-4, momentum=0.9), data, epochs=20, batch_size=32,
                 progress=False)
    assert hist["val_acc"][-1] >= 0.90
    assert evaluate(model, X_test, y_test)[1] >= 0.90
    assert hist["train_loss"][-1] < hist["train_loss"][0]


# ---------------------------------------------------------------- oracles added for issue #14
def test_full_batch_epochs_match_the_reference_train_epoch():
    """oracles.full_batch_epochs (one batch per epoch) equals the reference model, SGD and train_epoch."""
    from neural_nets.train import train_epoch

    rng = np.random.default_rng(3)
    weights, X, y, kwargs = oracles.random_model(rng, "SoftmaxRegression")
    model = ref_models.SoftmaxRegression(**kwargs)
    model.weights = {k: v.copy() for k, v in weights.items()}
    opt = SGD(learning_rate=0.1, reg=0.1, momentum=0.9)
    want = oracles.full_batch_epochs(weights, X, y, 0.1, 0.1, 0.9, 3)
    for epoch in range(3):
        loss, acc = train_epoch(model, opt, X, y, batch_size=len(y) + 5, seed=epoch)
        assert np.isclose(loss, want[epoch]["loss"], rtol=1e-12) and acc == want[epoch]["accuracy"]
        for k in weights:
            np.testing.assert_allclose(model.weights[k], want[epoch]["weights"][k], rtol=1e-12, err_msg=(epoch, k))
    unregularised = oracles.full_batch_epochs(weights, X, y, 0.1, 0.1, 0.9, 3, regularize=False)
    assert not np.allclose(unregularised[-1]["weights"]["W1"], want[-1]["weights"]["W1"])


@pytest.mark.parametrize("kind", ["SoftmaxRegression", "TwoLayerNet"])
def test_mistaken_model_is_the_model_with_the_bias_inside_the_product(kind):
    """No mistaken layer: the oracle's model; layer 1 mistaken: torch's loss of X @ (W1 + b1)."""
    rng = np.random.default_rng(5)
    weights, X, y, _ = oracles.random_model(rng, kind)
    loss, grads = oracles.mistaken_model(weights, X, y, set())
    assert np.isclose(loss, oracles.model_loss(weights, X, y), rtol=1e-12)
    for k, g in oracles.model_gradients(weights, X, y).items():
        np.testing.assert_allclose(grads[k], g, rtol=1e-12, err_msg=k)
    t = {k: torch.tensor(v) for k, v in weights.items()}
    h = torch.tensor(X) @ (t["W1"] + t["b1"])
    if "W2" in t:
        h = torch.sigmoid(h) @ t["W2"] + t["b2"]
    want = float(torch.nn.functional.cross_entropy(h, torch.tensor(y)))
    assert np.isclose(oracles.mistaken_model(weights, X, y, {"1"})[0], want, rtol=1e-10)
    assert not np.isclose(want, oracles.model_loss(weights, X, y))


def test_sgd_steps_velocity_decay():
    """velocity_decay=None is the documented update; 1.0 is the `v = v - lr * g` mistake."""
    rng = np.random.default_rng(0)
    weights = {"W1": rng.normal(size=(3, 2)), "b1": rng.normal(size=2)}
    grads = [{k: rng.normal(size=v.shape) for k, v in weights.items()} for _ in range(3)]
    plain = oracles.sgd_steps(weights, grads, 0.1, 0.0, 0.0, regularize=False)
    kept = oracles.sgd_steps(weights, grads, 0.1, 0.0, 0.0, regularize=False, velocity_decay=1.0)
    np.testing.assert_allclose(plain[0]["W1"], kept[0]["W1"])  # the first step is the same
    np.testing.assert_allclose(kept[2]["W1"], weights["W1"] - 0.1 * (3 * grads[0]["W1"] + 2 * grads[1]["W1"]
                                                                       + grads[2]["W1"]))
    assert not np.allclose(plain[2]["W1"], kept[2]["W1"])


def test_public_precision_note():
    """a1_checks.precision_note: float32 results and ~1e-6 relative errors are precision problems, others not."""
    sys.path.insert(0, KIT.path("assignments", A1, "tests", "public"))
    import a1_checks

    e = np.linspace(0.1, 1.0, 12)
    assert "float32" in a1_checks.precision_note(e.astype(np.float32), e)
    assert "precision problem" in a1_checks.precision_note(e * (1 + 3e-6), e)
    assert a1_checks.precision_note(e * 1.01, e) is None
    assert a1_checks.precision_note(e, e) is None
    assert a1_checks.precision_note(np.full(12, np.nan), e) is None
