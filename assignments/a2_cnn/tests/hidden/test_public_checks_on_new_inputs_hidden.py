"""Hidden: every public check again, on new random inputs (the public ones are fixed).

A submission that returns the public fixtures' answers without computing them fails
here. Each entry covers one public test file; its cases share the points.
"""
import pytest

import cases
import test_convnet
import test_layers
import test_losses
import test_models
import test_optim
import test_trainer
from autograder import graded
from autograder.fixtures import check_new_inputs, new_input_ids


@pytest.mark.parametrize("key", new_input_ids(test_layers.CHECKS, cases))
@graded(points=5)
def test_layers_new_inputs(rng, key):
    """layers.py's public checks pass on new random inputs"""
    check_new_inputs(test_layers.CHECKS, cases, rng, key)


@pytest.mark.parametrize("key", new_input_ids(test_convnet.CHECKS, cases))
@graded(points=1)
def test_convnet_new_inputs(rng, key):
    """convnet.py's public checks pass on new random inputs"""
    check_new_inputs(test_convnet.CHECKS, cases, rng, key)


@pytest.mark.parametrize("key", new_input_ids(test_optim.CHECKS, cases))
@graded(points=1)
def test_optim_new_inputs(rng, key):
    """optim.py's public checks pass on new random inputs"""
    check_new_inputs(test_optim.CHECKS, cases, rng, key)


@pytest.mark.parametrize("key", new_input_ids(test_models.CHECKS, cases))
@graded(points=2)
def test_models_new_inputs(rng, key):
    """models.py's public checks pass on new random inputs"""
    check_new_inputs(test_models.CHECKS, cases, rng, key)


@pytest.mark.parametrize("key", new_input_ids(test_losses.CHECKS, cases))
@graded(points=2)
def test_losses_new_inputs(rng, key):
    """losses.py's public checks pass on new random inputs"""
    check_new_inputs(test_losses.CHECKS, cases, rng, key)


@pytest.mark.parametrize("key", new_input_ids(test_trainer.CHECKS, cases))
@graded(points=1)
def test_trainer_new_inputs(rng, key):
    """trainer.py's public checks pass on new random inputs"""
    check_new_inputs(test_trainer.CHECKS, cases, rng, key)
