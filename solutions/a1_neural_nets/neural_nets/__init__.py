"""Assignment 1: neural networks from scratch in NumPy.

Modules:
    functional  activations, softmax, cross-entropy, accuracy
"""
