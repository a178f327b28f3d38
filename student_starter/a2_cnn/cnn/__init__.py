"""Assignment 2: convolutional networks.

Part 1, NumPy only (no PyTorch in these files):
    layers   Conv2D, MaxPool2D, Linear, ReLU, SoftmaxCrossEntropy: forward and backward
    convnet  ConvNet: a stack of layers and a loss
    optim    SGDMomentum

Part 2, PyTorch:
    models   TwoLayerNet, VanillaCNN, MyModel (your own design)
    losses   reweight (class-balanced weights), FocalLoss
    trainer  train_step and evaluate (yours), Trainer (given)
    data     CIFAR-10, ImbalancedCIFAR10 and the offline digits (given)

This file imports nothing, so part 1 works without PyTorch installed.
"""
