"""Assignment 3's given models: the committed DigitsCNN weights, their reproduction by the
training script, the offline SqueezeNet error, and the architecture the graders hook into."""
import importlib.util
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
import torch
import torch.nn as nn

from conftest import KIT

A3 = "a3_interpret"
sys.path.insert(0, KIT.path("solutions", A3))
from interpret import models  # noqa: E402

SCRIPT = KIT.path("assignments", A3, "tools", "train_digits_cnn.py")
WEIGHTS = KIT.path("solutions", A3, "interpret", "weights", "digits_cnn.pt")


def _load_script():
    spec = importlib.util.spec_from_file_location("train_digits_cnn", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


train_script = _load_script()


@pytest.fixture(scope="module")
def split():
    return train_script.digits_split()


def split_accuracy(model, split):
    _, _, X_test, y_test = split
    return train_script.accuracy(model, X_test, y_test)


def test_committed_weights_load_safely_and_reach_95_percent(split):
    assert models.WEIGHTS_FILE == WEIGHTS
    state = torch.load(WEIGHTS, map_location="cpu", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    model = models.load_digits_cnn()
    assert not model.training
    assert not any(p.requires_grad for p in model.parameters())
    X_train, _, X_test, _ = split
    assert X_test.shape == (359, 1, 8, 8) and X_train.shape == (1438, 1, 8, 8)
    acc = split_accuracy(model, split)
    assert acc >= 0.95, "committed DigitsCNN reaches only %.4f on the 20%% test split" % acc


# Takes ~9 s here (the script trains for ~6-9 s on 2 CPU cores; under 40 s, so it retrains fully).
def test_training_script_reproduces_the_committed_weights(split, tmp_path):
    out = tmp_path / "weights" / "digits_cnn.pt"
    proc = subprocess.run([sys.executable, SCRIPT, "--out", str(out)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "test accuracy" in proc.stdout
    assert os.listdir(out.parent) == ["digits_cnn.pt"], "the atomic write left temporary files behind"
    mine = split_accuracy(models.load_digits_cnn(out), split)
    committed = split_accuracy(models.load_digits_cnn(), split)
    assert abs(mine - committed) <= 0.01, "retrained %.4f vs committed %.4f" % (mine, committed)


def test_squeezenet_offline_raises_a_clear_error_without_touching_the_network(monkeypatch, tmp_path):
    """Downloads patched out the way torchvision's tests do: no cache, and any fetch fails."""
    attempts = []

    def no_download(url, dst, *args, **kwargs):
        attempts.append(url)
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    def no_network(*args, **kwargs):
        raise AssertionError("load_squeezenet reached for the network: %r" % (args,))

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))  # an empty cache
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    monkeypatch.setattr(torch.hub, "urlopen", no_network)
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    with pytest.raises(models.PretrainedWeightsUnavailable) as info:
        models.load_squeezenet()
    message = str(info.value)
    assert attempts and attempts[0].endswith(".pth")
    assert "\n" not in message
    assert "could not download the SqueezeNet 1.1 ImageNet weights" in message
    assert "load_digits_cnn()" in message and "works offline" in message
    assert socket.getdefaulttimeout() is None, "load_squeezenet left its download timeout in place"


def test_squeezenet_download_waits_at_most_the_timeout(monkeypatch, tmp_path):
    """An unanswered download must fail after DOWNLOAD_TIMEOUT seconds, never hang: the timeout is set while
    torchvision fetches the weights."""
    seen = []

    def record_timeout(url, dst, *args, **kwargs):
        seen.append(socket.getdefaulttimeout())
        raise socket.timeout("timed out")

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", record_timeout)
    with pytest.raises(models.PretrainedWeightsUnavailable, match="timed out"):
        models.load_squeezenet()
    assert seen == [models.DOWNLOAD_TIMEOUT]


def test_squeezenet_without_pretrained_weights_builds_offline():
    model = models.load_squeezenet(pretrained=False)
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    with torch.no_grad():
        assert model(torch.zeros(1, 3, 224, 224)).shape == (1, 1000)


def test_gradcam_layer_shape_and_distinct_relus():
    model = models.load_digits_cnn()
    assert model.gradcam_layer is model.features[2] and models.DigitsCNN.GRADCAM_LAYER == "features.2"
    assert dict(model.named_modules())[models.DigitsCNN.GRADCAM_LAYER] is model.features[2]
    seen = {}
    model.features[2].register_forward_hook(lambda m, i, o: seen.__setitem__("cam", o.shape))
    relu_calls = []
    relus = [m for m in model.features if isinstance(m, nn.ReLU)]
    assert len(relus) == 2 and relus[0] is not relus[1]
    assert all(type(m) is nn.ReLU and not m.inplace for m in relus)
    for m in relus:
        m.register_forward_hook(lambda m, i, o: relu_calls.append(id(m)))
    X, _ = models.load_digits_data()
    scores = model(X[:5])
    assert scores.shape == (5, 10)
    assert seen["cam"] == (5, 32, 8, 8)
    assert sorted(relu_calls) == sorted(id(m) for m in relus), "each ReLU module runs exactly once"


def test_architecture_matches_the_graders_probe_network():
    sys.path.insert(0, KIT.path("assignments", A3, "tests"))
    try:
        from probes.a3_probes import SmallCNN
    finally:
        sys.path.remove(KIT.path("assignments", A3, "tests"))
    ours = {k: tuple(v.shape) for k, v in models.DigitsCNN().state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in SmallCNN().state_dict().items()}
    assert ours == theirs
    # in eval mode (how the probes hand it over) it computes what DigitsCNN computes with the same weights;
    # its Dropout acts only in train mode, so a student's model.train() shows in the maps
    digits = models.load_digits_cnn()
    probe_net = SmallCNN().eval()
    probe_net.load_state_dict(digits.state_dict())
    X, _ = models.load_digits_data()
    with torch.no_grad():
        torch.testing.assert_close(probe_net(X[:20]), digits(X[:20]))
        probe_net.train()
        assert not torch.allclose(probe_net(X[:20]), digits(X[:20]))


def _a3_tests_path():
    return KIT.path("assignments", A3, "tests")


def test_probe_networks_float32_float64_and_smooth_share_weights():
    """The grader's networks: float32 for the student, the very same weights widened to float64 for the oracles;
    the smooth variant (path methods) has the same parameters with tanh and average pooling."""
    sys.path.insert(0, _a3_tests_path())
    try:
        from probes.a3_probes import make_cnn, make_feature_cnn
    finally:
        sys.path.remove(_a3_tests_path())
    m32, m64, smooth = make_cnn(7, 3), make_cnn(7, 3, torch.float64), make_cnn(7, 3, smooth=True)
    assert next(m32.parameters()).dtype == torch.float32 and next(m64.parameters()).dtype == torch.float64
    for a, b, c in zip(m32.state_dict().values(), m64.state_dict().values(), smooth.state_dict().values()):
        assert torch.equal(a.double(), b) and torch.equal(a, c)
    assert not any(p.requires_grad for p in m32.parameters()) and not m32.training and not smooth.training
    assert not any(isinstance(m, (nn.ReLU, nn.MaxPool2d)) for m in smooth.modules())
    f32, f64 = make_feature_cnn(3), make_feature_cnn(3, torch.float64)
    assert all(torch.equal(a.double(), b) for a, b in zip(f32.state_dict().values(), f64.state_dict().values()))


def test_given_drivers_keep_their_docstrings_promises():
    """create_class_visualization returns a (1, C, H, W) image within ``clamp``; plot_attribution_grid draws one
    row of images and one row per method and returns the figure."""
    import matplotlib

    matplotlib.use("Agg")
    from interpret import captum_maps, class_viz

    model = models.load_digits_cnn()
    img = class_viz.create_class_visualization(3, model, num_iterations=12, clamp=(0.1, 0.9))
    assert img.shape == (1, 1, 8, 8) and not img.requires_grad
    assert float(img.min()) >= 0.1 and float(img.max()) <= 0.9
    X, y = models.load_digits_data()
    maps = captum_maps.attribution_maps(X[:3], y[:3], model, model.gradcam_layer)
    fig = captum_maps.plot_attribution_grid(maps, X[:3], titles=["a", "b", "c"])
    assert len(fig.axes) == 3 * (len(maps) + 1)


def test_missing_weights_error_names_the_file_and_the_make_target(tmp_path):
    missing = tmp_path / "nope.pt"
    with pytest.raises(FileNotFoundError) as info:
        models.load_digits_cnn(missing)
    message = str(info.value)
    assert str(missing) in message and models.TRAIN_COMMAND in message and "\n" not in message


def test_digits_data_and_rng_untouched():
    X, y = models.load_digits_data()
    assert X.shape == (1797, 1, 8, 8) and X.dtype == torch.float32
    assert float(X.min()) == 0.0 and float(X.max()) == 1.0
    assert y.shape == (1797,) and y.dtype == torch.int64 and set(y.tolist()) == set(range(10))
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    models.load_digits_cnn()
    assert torch.equal(torch.rand(3), expected), "load_digits_cnn consumed the caller's random numbers"


def test_importing_models_needs_neither_torchvision_nor_sklearn():
    code = ("import sys; sys.path.insert(0, %r); import interpret.models; "
            "print(sorted(m for m in ('torchvision', 'sklearn') if m in sys.modules))" % KIT.path("solutions", A3))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def squeezenet():
    return models.load_squeezenet(pretrained=False).double()


def test_notebook_maps_run_on_squeezenet_and_equal_captums(squeezenet):
    """The notebook's SqueezeNet section (skipped offline) calls the reference maps on SqueezeNet, whose ReLUs are
    in place and nested in Fire modules: each map must still equal Captum's own (random weights, small images)."""
    from captum.attr import GuidedBackprop, LayerGradCam, Saliency
    from interpret import gradcam, guided_backprop, saliency

    torch.manual_seed(0)
    X = torch.rand(2, 3, 64, 64, dtype=torch.float64)
    y = torch.tensor([3, 917])
    layer = squeezenet.features[12]
    sal = saliency.compute_saliency_maps(X, y, squeezenet)
    torch.testing.assert_close(sal, Saliency(squeezenet).attribute(X.clone().requires_grad_(True), target=y,
                                                                     abs=True).amax(dim=1))
    relus = [m for m in squeezenet.modules() if isinstance(m, nn.ReLU)]
    gb = guided_backprop.guided_backprop(X, y, squeezenet)
    assert [m for m in squeezenet.modules() if isinstance(m, nn.ReLU)] == relus, "the ReLUs were not put back"
    torch.testing.assert_close(gb, GuidedBackprop(squeezenet).attribute(X.clone().requires_grad_(True), target=y))
    cam = gradcam.grad_cam(X, y, squeezenet, layer)
    expected = LayerGradCam(squeezenet, layer).attribute(X.clone().requires_grad_(True), target=y,
                                                         relu_attributions=True)[:, 0]
    assert cam.shape == expected.shape == (2, 3, 3)
    torch.testing.assert_close(cam, expected)


def test_style_photos_and_feature_networks():
    china, flower = models.load_style_photos(32)
    assert china.shape == (1, 3, 32, 48) and flower.shape == (1, 3, 32, 48)
    assert 0.0 <= float(china.min()) and float(china.max()) <= 1.0 and float(china.std()) > 0.1
    cnn = models.random_feature_cnn(seed=0)
    feats = models.extract_features(china, cnn)
    assert [tuple(f.shape[1:]) for f in feats] == [(32, 32, 48)] * 2 + [(64, 32, 48)] * 2 + [(64, 16, 24)] + \
        [(128, 16, 24)] * 2 + [(128, 8, 12)] + [(256, 8, 12)] * 2
    torch.testing.assert_close(feats[-1], cnn(china))
    assert all(torch.equal(a, b) for a, b in zip(cnn.state_dict().values(),
                                                 models.random_feature_cnn(seed=0).state_dict().values()))
    sq = models.load_squeezenet(pretrained=False)
    normalised = models.extract_features(china, sq.features, imagenet_normalize=True)
    mean = torch.tensor(models.IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(models.IMAGENET_STD).view(1, 3, 1, 1)
    torch.testing.assert_close(normalised[-1], sq.features((china - mean) / std))


def test_style_transfer_driver_moves_towards_the_style():
    """The given driver with the reference step: the loss falls, pixels stay in range, the style statistics of
    the result move towards the style image's while the content image is the start."""
    from interpret import style

    china, flower = models.load_style_photos(24)
    cnn = models.random_feature_cnn(seed=0)

    def extract(img):
        return models.extract_features(img, cnn)

    layers = [1, 3, 6]
    result, losses = style.style_transfer(china, flower, extract, 6, layers, [1e5] * 3, num_iterations=25,
                                          progress=False)
    assert result.shape == china.shape and not result.requires_grad
    assert float(result.min()) >= 0.0 and float(result.max()) <= 1.0
    assert len(losses) == 25 and losses[-1] < 0.5 * losses[0]

    def style_distance(img):
        with torch.no_grad():
            a, b = extract(img), extract(flower)
            return sum(float(((style.gram_matrix(a[i]) - style.gram_matrix(b[i])) ** 2).sum()) for i in layers)

    assert style_distance(result) < 0.5 * style_distance(china)
