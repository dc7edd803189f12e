"""scikit-learn's side of the digits benchmark: the MLP of bench/digits_mlp.cpp (example 10's, 64 -> 256 ->
128 -> 10, on the plain images: MLPClassifier cannot jitter them), trained by MLPClassifier on the same rows
(the split.csv that bench_digits_mlp wrote), on one thread.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/digits_sklearn.py digits.csv.gz split.csv [epochs] [seed]

Prints one line, `digits_sklearn: validation_accuracy=... test_accuracy=... train_seconds=...`. Needs Debian's
python3-sklearn, which `./dev bench` installs (the library and its tests never need Python).
"""
import csv
import gzip
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier


def main():
    data_path, split_path = sys.argv[1], sys.argv[2]
    epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 118
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 0  # of the weights and batches (numpy's generator)
    with gzip.open(data_path, "rt") as f:
        table = np.loadtxt(f, delimiter=",")
    pixels, labels = table[:, :64] / 16.0, table[:, 64].astype(int)
    with open(split_path) as f:
        part = {int(row["index"]): row["part"] for row in csv.DictReader(f)}
    rows = {name: [i for i in sorted(part) if part[i] == name] for name in ("train", "validation", "test")}

    batch, lr, weight_decay = 32, 2e-3, 1e-3
    model = MLPClassifier(hidden_layer_sizes=(256, 128), activation="relu", solver="adam",
                          alpha=weight_decay * batch,  # its L2 term is alpha / (2 * batch size) * |W|^2
                          batch_size=batch, learning_rate_init=lr, max_iter=epochs, shuffle=True,
                          tol=0.0, n_iter_no_change=10**9, early_stopping=False, random_state=seed)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # it ran max_iter epochs, as asked
        model.fit(pixels[rows["train"]], labels[rows["train"]])
    seconds = time.perf_counter() - start
    accuracy = {name: model.score(pixels[rows[name]], labels[rows[name]]) for name in ("validation", "test")}
    print(f"digits_sklearn: validation_accuracy={accuracy['validation']:.3f} test_accuracy={accuracy['test']:.3f} "
          f"train_seconds={seconds:.2f} epochs={model.n_iter_} hidden=256,128 batch={batch} lr={lr} "
          f"alpha={weight_decay * batch} seed={seed} threads=1")


if __name__ == "__main__":
    main()
