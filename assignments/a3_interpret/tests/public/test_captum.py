"""Public checks of attribution_maps: each Captum method called the way the docstring says.

Inputs, network seeds and Captum's maps are fixtures (tests/fixtures/); the hidden
tests run the same checks on new random inputs and networks.
"""
import pytest

from autograder import Feedback, expect_close, graded, sandbox
from autograder.fixtures import public_case, public_params


def check_attribution_maps(c, method):
    got = sandbox.call("a3_probes:captum_maps", c["model_seed"], c["X"], c["y"])
    name = "interpret.captum_maps.attribution_maps"
    if method not in got:
        raise Feedback("%s: the returned dict has no %r entry (keys: %s)" % (name, method, sorted(got)))
    expect_close(got[method], c["expected"], name=name, what=method + " map", rtol=1e-6, atol=1e-10)


#: case name (tests/cases.py) -> its check; the hidden tests run each on new inputs
CHECKS = {"attribution_maps": check_attribution_maps}


@pytest.mark.parametrize("method", public_params("attribution_maps"))
@graded(points=3)
def test_attribution_maps(method):
    """attribution_maps returns each Captum method's attributions for the correct classes"""
    check_attribution_maps(public_case("attribution_maps", method), method)
