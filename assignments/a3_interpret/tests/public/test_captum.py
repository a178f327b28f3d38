"""Public checks of attribution_maps: each Captum method called the way the docstring says.

Inputs, network seeds and Captum's maps are fixtures (tests/fixtures/); the hidden
tests run the same checks on new random inputs and networks. Networks and inputs are
float32 (see a3_feedback.py for the tolerances); the integrated-gradients and
conductance cases use a smooth network (tanh, average pooling) of the same shape.
"""
import pytest

from a3_feedback import call, expect_eval_mode, expect_f32
from autograder import Feedback, graded
from autograder.fixtures import public_case, public_params

NAME = "interpret.captum_maps.attribution_maps"


def _maps(c):
    out = call("a3_probes:captum_maps", c["model_seed"], c["X"], c["y"], c["smooth"])
    if not isinstance(out["maps"], dict):
        raise Feedback("%s returned a %s, not a dict from method names to maps" % (NAME, type(out["maps"]).__name__))
    expect_eval_mode(out, NAME)
    return out


def check_attribution_maps(c, method):
    got = _maps(c)["maps"]
    if method not in got:
        raise Feedback("%s: the returned dict has no %r entry (keys: %s)" % (NAME, method, sorted(got)))
    expect_f32(got[method], c["expected"], name=NAME, what=method + " map")


def check_attribution_maps_detached(c, _=None):
    flags = _maps(c)["requires_grad"]
    attached = sorted(k for k, v in flags.items() if v)
    if attached:
        raise Feedback("%s: the %s map%s still require%s grad; return detached tensors (value.detach()), as the "
                       "docstring says: a tensor attached to the graph cannot be turned into a NumPy array to plot"
                       % (NAME, ", ".join(attached), "s" if len(attached) > 1 else "", "" if len(attached) > 1 else "s"))


#: case name (tests/cases.py) -> its check; the hidden tests run each on new inputs
CHECKS = {"attribution_maps": check_attribution_maps}


@pytest.mark.parametrize("method", public_params("attribution_maps"))
@graded(points=3)
def test_attribution_maps(method):
    """attribution_maps returns each Captum method's attributions for the correct classes"""
    check_attribution_maps(public_case("attribution_maps", method), method)


@graded(points=1)
def test_attribution_maps_detached():
    """attribution_maps returns detached tensors"""
    check_attribution_maps_detached(public_case("attribution_maps", "GuidedGradCam"))
