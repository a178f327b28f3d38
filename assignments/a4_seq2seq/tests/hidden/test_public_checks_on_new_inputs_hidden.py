"""Hidden: every public check again, on new random inputs and weights (the public ones are fixed).

A submission that returns the public fixtures' answers without computing them fails
here. Each entry covers one public test file; its cases share the points.
"""
import pytest

import cases
import test_data
import test_rnn
import test_seq2seq
import test_transformer
from autograder import graded
from autograder.fixtures import check_new_inputs, new_input_ids


@pytest.mark.parametrize("key", new_input_ids(test_rnn.CHECKS, cases))
@graded(points=2)
def test_rnn_new_inputs(rng, key):
    """rnn.py's and lstm.py's public checks pass on new random inputs"""
    check_new_inputs(test_rnn.CHECKS, cases, rng, key)


@pytest.mark.parametrize("key", new_input_ids(test_seq2seq.CHECKS, cases))
@graded(points=4)
def test_seq2seq_new_inputs(rng, key):
    """encoder.py's, decoder.py's and model.py's public checks pass on new random inputs"""
    check_new_inputs(test_seq2seq.CHECKS, cases, rng, key)


@pytest.mark.parametrize("key", new_input_ids(test_transformer.CHECKS, cases))
@graded(points=6)
def test_transformer_new_inputs(rng, key):
    """transformer.py's public checks pass on new random inputs"""
    check_new_inputs(test_transformer.CHECKS, cases, rng, key)


@pytest.mark.parametrize("key", new_input_ids(test_data.CHECKS, cases))
@graded(points=1)
def test_data_new_inputs(rng, key):
    """data.py's public check passes on new random inputs"""
    check_new_inputs(test_data.CHECKS, cases, rng, key)
