"""A1 benchmark: train the reference TwoLayerNet on scikit-learn's real digits.

Prints the test accuracy after each epoch and the wall/CPU seconds until the
test accuracy first reaches the goal (0.95). Asserts nothing.

    .venv/bin/python bench/bench_a1_training.py [--epochs 20] [--goal 0.95]
"""
import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "solutions", "a1_neural_nets"))

from neural_nets import data, models, optim, train  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--goal", type=float, default=0.95)
    p.add_argument("--hidden", type=int, default=64)
    args = p.parse_args()
    X, y, X_test, y_test = data.load_digits()
    X_train, y_train, X_val, y_val = data.train_val_split(X, y, 0.2, seed=0)
    net = models.TwoLayerNet(input_size=64, num_classes=10, hidden_size=args.hidden, seed=0)
    opt = optim.SGD(learning_rate=0.5, reg=1e-4, momentum=0.9)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    reached = None
    print("digits: train %d, validation %d, test %d; TwoLayerNet hidden %d; SGD lr 0.5, reg 1e-4, momentum 0.9, batch 32"
          % (len(y_train), len(y_val), len(y_test), args.hidden))
    for epoch in range(1, args.epochs + 1):
        train.train_epoch(net, opt, X_train, y_train, 32, seed=epoch)
        test_acc = train.evaluate(net, X_test, y_test)[1]
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        print("epoch %2d  test accuracy %.4f  %.2f s wall  %.2f s CPU" % (epoch, test_acc, wall, cpu))
        if reached is None and test_acc >= args.goal:
            reached = (epoch, test_acc, wall, cpu)
    if reached:
        print("goal %.2f reached at epoch %d: test accuracy %.4f after %.2f s wall, %.2f s CPU" % ((args.goal,) + reached))
    else:
        print("goal %.2f not reached in %d epochs" % (args.goal, args.epochs))
    print("final test accuracy %.4f" % train.evaluate(net, X_test, y_test)[1])


if __name__ == "__main__":
    main()
