"""A2 benchmark: the NumPy reference layers against PyTorch on the CPU, and VanillaCNN on digits.

Prints, asserts nothing:
* Conv2D forward + backward (NumPy reference, solutions/a2_cnn) against
  torch.nn.functional.conv2d forward + backward, in the same process, N=32, C=16,
  32x32, F=32, k=3, padding 1, in float64 and float32: the best of ``--repeat``
  runs each, and the ratio NumPy / torch (goals: <= 1x in float64, <= 2x in float32);
* the same for MaxPool2D(2, 2) against F.max_pool2d, on the conv's output shape;
* the reference VanillaCNN trained on scikit-learn's digits (3x32x32): test accuracy
  and seconds.

    .venv/bin/python bench/bench_a2_conv.py [--repeat 7] [--epochs 8] [--threads 1]

``--threads N`` (default 1, as in grading) sets both NumPy's BLAS threads (through
OPENBLAS/OMP/MKL_NUM_THREADS, before NumPy is imported) and torch's.
"""
import argparse
import os
import sys
import time


def _threads_from_argv(default=1):
    argv = sys.argv[1:]
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--threads="):
            return arg.split("=", 1)[1]
    return str(default)


for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = _threads_from_argv()

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "solutions", "a2_cnn"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from cnn import data, models, trainer  # noqa: E402
from cnn.layers import Conv2D, MaxPool2D  # noqa: E402


def best_of(fn, repeat):
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), float(np.median(times))


def bench_conv(dtype, repeat, rng):
    x = rng.normal(size=(32, 16, 32, 32)).astype(dtype)
    conv = Conv2D(16, 32, 3, stride=1, padding=1, seed=0)
    conv.weight, conv.bias = conv.weight.astype(dtype), rng.normal(size=32).astype(dtype)
    dout = rng.normal(size=(32, 32, 32, 32)).astype(dtype)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, conv.weight, conv.bias))
    dt = torch.tensor(dout)

    def numpy_run():
        conv.forward(x)
        conv.backward(dout)

    def torch_run():
        xt.grad = wt.grad = bt.grad = None
        F.conv2d(xt, wt, bt, stride=1, padding=1).backward(dt)

    numpy_run()
    torch_run()
    err = max(float(np.abs(conv.dx - xt.grad.numpy()).max()), float(np.abs(conv.dw - wt.grad.numpy()).max()))
    return best_of(numpy_run, repeat), best_of(torch_run, repeat), err


def bench_pool(dtype, repeat, rng):
    x = rng.normal(size=(32, 32, 32, 32)).astype(dtype)
    pool = MaxPool2D(2, 2)
    dout = rng.normal(size=(32, 32, 16, 16)).astype(dtype)
    xt, dt = torch.tensor(x, requires_grad=True), torch.tensor(dout)

    def numpy_run():
        pool.forward(x)
        pool.backward(dout)

    def torch_run():
        xt.grad = None
        F.max_pool2d(xt, 2, 2).backward(dt)

    numpy_run()
    torch_run()
    err = float(np.abs(pool.dx - xt.grad.numpy()).max())
    return best_of(numpy_run, repeat), best_of(torch_run, repeat), err


def bench_vanilla(epochs):
    torch.manual_seed(0)
    train, test = data.digits()
    train_loader, test_loader = data.loaders(train, test, batch_size=64)
    model = models.VanillaCNN(in_channels=3, num_classes=10, image_size=32)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    crit = torch.nn.CrossEntropyLoss()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for epoch in range(1, epochs + 1):
        for x, y in train_loader:
            trainer.train_step(model, crit, opt, x, y)
        loss, acc, _ = trainer.evaluate(model, crit, test_loader)
        print("  epoch %d  test loss %.4f  test accuracy %.4f  %.2f s wall  %.2f s CPU"
              % (epoch, loss, acc, time.perf_counter() - wall0, time.process_time() - cpu0))
    return acc, time.perf_counter() - wall0, time.process_time() - cpu0, len(train), len(test)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--threads", type=int, default=1, help="BLAS and torch threads (default 1)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    print("numpy %s, torch %s, threads %d (BLAS and torch), os.cpu_count %s" % (
        np.__version__, torch.__version__, torch.get_num_threads(), os.cpu_count()))
    print("best (median) of %d runs, forward + backward, in seconds" % args.repeat)
    for label, fn, goal in (("Conv2D N=32 C=16 32x32 F=32 k=3 pad 1", bench_conv, {np.float64: 1, np.float32: 2}),
                            ("MaxPool2D(2, 2) on (32, 32, 32, 32)", bench_pool, {np.float64: 1, np.float32: 2})):
        for dtype in (np.float64, np.float32):
            (nb, nm), (tb, tm), err = fn(dtype, args.repeat, rng)
            print("%-40s %-8s numpy %.4f (%.4f)  torch %.4f (%.4f)  ratio %.2fx (goal <= %dx)  max |diff| %.1e"
                  % (label, np.dtype(dtype).name, nb, nm, tb, tm, nb / tb, goal[dtype], err))
    print("VanillaCNN on digits (3x32x32, normalised), SGD lr 0.01 momentum 0.9, batch 64:")
    acc, wall, cpu, n_train, n_test = bench_vanilla(args.epochs)
    print("VanillaCNN: %d training images, %d epochs: test accuracy %.4f on %d images, %.2f s wall, %.2f s CPU"
          % (n_train, args.epochs, acc, n_test, wall, cpu))


if __name__ == "__main__":
    main()
