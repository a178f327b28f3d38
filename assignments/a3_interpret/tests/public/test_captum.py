"""Public checks of attribution_maps: each Captum method called the way the docstring says."""
import pytest

import oracles
from autograder import Feedback, expect_close, graded, sandbox

METHODS = ["Saliency", "GuidedBackprop", "LayerGradCam", "GuidedGradCam", "IntegratedGradients", "LayerConductance"]


@pytest.mark.parametrize("method", METHODS)
@graded(points=3)
def test_attribution_maps(rng, seed, method):
    """attribution_maps returns each Captum method's attributions for the correct classes"""
    X, y = oracles.inputs(rng, n=3)
    model = oracles.make_cnn(seed % 1000)
    got = sandbox.call("a3_probes:captum_maps", seed % 1000, X, y)
    name = "interpret.captum_maps.attribution_maps"
    if method not in got:
        raise Feedback("%s: the returned dict has no %r entry (keys: %s)" % (name, method, sorted(got)))
    expect_close(got[method], oracles.captum_maps(model, X, y)[method], name=name, what=method + " map",
                 rtol=1e-6, atol=1e-10)
