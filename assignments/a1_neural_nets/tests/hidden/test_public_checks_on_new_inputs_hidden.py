"""Hidden: every public check again, on new random inputs (the public ones are fixed).

A submission that returns the public fixtures' answers without computing them fails
here. Each entry covers one public test file; its cases share the points.
"""
import pytest

import cases
import test_functional
import test_functional_edges
import test_models
import test_optim
import test_train
from autograder import graded
from autograder.fixtures import check_new_inputs, new_input_ids


@pytest.mark.parametrize("key", new_input_ids(test_functional.CHECKS, cases))
@graded(points=3)
def test_functional_new_inputs(rng, key):
    """functional.py's public checks pass on new random inputs"""
    check_new_inputs(test_functional.CHECKS, cases, rng, key)


@pytest.mark.parametrize("key", new_input_ids(test_functional_edges.CHECKS, cases))
@graded(points=1)
def test_functional_edges_new_inputs(rng, key):
    """relu_grad at exactly x = 0 passes on new random inputs"""
    check_new_inputs(test_functional_edges.CHECKS, cases, rng, key)


@pytest.mark.parametrize("key", new_input_ids(test_models.CHECKS, cases))
@graded(points=3)
def test_models_new_inputs(rng, key):
    """models.py's public checks pass on new random inputs"""
    check_new_inputs(test_models.CHECKS, cases, rng, key)


@pytest.mark.parametrize("key", new_input_ids(test_optim.CHECKS, cases))
@graded(points=2)
def test_optim_new_inputs(rng, key):
    """optim.py's public checks pass on new random inputs"""
    check_new_inputs(test_optim.CHECKS, cases, rng, key)


@pytest.mark.parametrize("key", new_input_ids(test_train.CHECKS, cases))
@graded(points=2)
def test_train_new_inputs(rng, key):
    """train.py's public train_epoch checks pass on new random inputs"""
    check_new_inputs(test_train.CHECKS, cases, rng, key)
