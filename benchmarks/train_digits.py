"""Train the course's small CNN on the 8x8 digits and on synthetic shape scenes.

    python benchmarks/train_digits.py [--epochs 15] [--seed 0]

Reports wall time and test accuracy for both data sets and, for the shape scenes (whose
object boxes are known), how well saliency maps find the object: the share of the map's
mass inside the box and the pointing game, for gradient saliency and for occlusion,
next to what a uniform map would score. Target: digits >= 97 % in < 20 s on 2 cores.
"""
import argparse
import time

import numpy as np

from cnnlib import nn
from cnnlib.data import load_digits, make_shapes_scenes
from cnnlib.optim import Adam
from cnnlib.saliency import occlusion_sensitivity, pointing_game, saliency_in_box, saliency_map
from cnnlib.train import evaluate, fit


def small_cnn(size, num_classes):
    """conv3x3(16)-ReLU-pool2 -> conv3x3(32)-ReLU-pool2 -> Flatten -> Linear."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * (size // 4) ** 2, num_classes))


def train_recipe(X, y, epochs, seed):
    """The recipe: Adam, lr 3e-3, batches of 32, seeded initialisation and shuffling."""
    nn.manual_seed(seed)
    model = small_cnn(X.shape[-1], int(y.max()) + 1)
    start = time.perf_counter()
    fit(model, X, y, epochs=epochs, batch_size=32, optimizer=Adam(model, lr=3e-3), rng=seed,
        progress=False)
    return model, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rows = []
    X_train, y_train = load_digits("train")
    X_test, y_test = load_digits("test")
    model, seconds = train_recipe(X_train, y_train, args.epochs, args.seed)
    rows.append(("digits 8x8", len(X_train), seconds, evaluate(model, X_test, y_test)[1]))

    X_train, y_train, _ = make_shapes_scenes(2000, seed=1)
    X_test, y_test, boxes = make_shapes_scenes(500, seed=2)
    model, seconds = train_recipe(X_train, y_train, args.epochs, args.seed)
    rows.append(("shape scenes 16x16", len(X_train), seconds, evaluate(model, X_test, y_test)[1]))

    print(f"small CNN, {args.epochs} epochs, Adam lr 3e-3, batch 32, seed {args.seed}")
    print(f"{'data set':<20} {'train':>6} {'time (s)':>9} {'test acc':>9}")
    for name, n, seconds, acc in rows:
        print(f"{name:<20} {n:>6} {seconds:>9.2f} {acc:>9.2%}")

    area = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).mean() / X_test[0, 0].size
    maps = {
        "gradient |dS_c/dx|": saliency_map(model, X_test, y_test),
        "occlusion 3x3": occlusion_sensitivity(model, X_test, y_test, patch=3, stride=1),
    }
    print("\nsaliency on the shape scenes' test set (true class)")
    print(f"{'map':<20} {'mass in box':>12} {'pointing':>9}")
    for name, sal in maps.items():
        print(f"{name:<20} {saliency_in_box(sal, boxes).mean():>12.3f} "
              f"{pointing_game(sal, boxes).mean():>9.3f}")
    print(f"{'uniform (chance)':<20} {area:>12.3f} {area:>9.3f}")


if __name__ == "__main__":
    main()
