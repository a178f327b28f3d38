"""Hidden: every public check again, on new random inputs and networks (the public ones are fixed).

A submission that returns the public fixtures' answers without computing them fails
here. Each entry covers one public test file; its cases share the points.
"""
import pytest

import cases
import test_captum
import test_fooling
import test_maps
import test_style
from autograder import graded
from autograder.fixtures import check_new_inputs, new_input_ids


@pytest.mark.parametrize("key", new_input_ids(test_maps.CHECKS, cases))
@graded(points=3)
def test_maps_new_inputs(rng, key):
    """saliency, guided backprop and Grad-CAM: the public checks pass on new random inputs"""
    check_new_inputs(test_maps.CHECKS, cases, rng, key)


@pytest.mark.parametrize("key", new_input_ids(test_captum.CHECKS, cases))
@graded(points=1)
def test_captum_new_inputs(rng, key):
    """attribution_maps: the public checks pass on new random inputs"""
    check_new_inputs(test_captum.CHECKS, cases, rng, key)


@pytest.mark.parametrize("key", new_input_ids(test_fooling.CHECKS, cases))
@graded(points=1)
def test_fooling_new_inputs(rng, key):
    """fooling images and the class-visualisation step: the public checks pass on new random inputs"""
    check_new_inputs(test_fooling.CHECKS, cases, rng, key)


@pytest.mark.parametrize("key", new_input_ids(test_style.CHECKS, cases))
@graded(points=3)
def test_style_new_inputs(rng, key):
    """the style-transfer losses and step: the public checks pass on new random inputs"""
    check_new_inputs(test_style.CHECKS, cases, rng, key)
