"""Small CIFAR-10 / CIFAR-100 datasets in the exact python-pickle layout, with learnable classes.

For tests anywhere in the project (numpy and the standard library only):

    write_cifar10(root, *, train_per_class=50, test_per_class=10, seed=0) -> Path
        root/cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}
    write_cifar100(root, *, train_per_class=10, test_per_class=5, seed=0) -> Path
        root/cifar-100-python/{train, test, meta}

Both return the folder they wrote. Pass `root` as the trainer's data_dir. Files are Python dict
pickles at protocol 2 with byte-string keys, as the originals: b"data" uint8 N x 3072 (1024 red,
1024 green, 1024 blue values per row), b"labels" (CIFAR-10) or b"fine_labels" and
b"coarse_labels" (CIFAR-100), b"filenames", b"batch_label"; the meta files carry the real
class names. Each class has its own colour and stripe pattern under Gaussian noise, so a small
network learns them in a few epochs, even through random crops and flips.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

CIFAR10_CLASSES = [
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
]  # fmt: skip
CIFAR100_CLASSES = """apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy
bridge bus butterfly camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach
couch crab crocodile cup dinosaur dolphin elephant flatfish forest fox girl hamster house
kangaroo keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle mountain
mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree plain plate
poppy porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk skyscraper
snail snake spider squirrel streetcar sunflower sweet_pepper table tank telephone television
tiger tractor train trout tulip turtle wardrobe whale willow_tree wolf woman worm""".split()  # noqa: SIM905
CIFAR100_COARSE = """aquatic_mammals fish flowers food_containers fruit_and_vegetables
household_electrical_devices household_furniture insects large_carnivores
large_man-made_outdoor_things large_natural_outdoor_scenes large_omnivores_and_herbivores
medium_mammals non-insect_invertebrates people reptiles small_mammals trees vehicles_1
vehicles_2""".split()  # noqa: SIM905

# Ten well-separated colours (RGB); class c uses colour c % 10 and stripe pattern c // 10.
PALETTE = np.array(
    [
        [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
        [145, 30, 180], [70, 240, 240], [240, 50, 230], [128, 128, 0], [255, 255, 255],
    ],
    dtype=np.float64,
)  # fmt: skip
NOISE = 24.0  # standard deviation of the per-pixel noise, in grey levels


def make_images(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """uint8 N x 3072 images for integer labels (any number of classes up to 100)."""
    labels = np.asarray(labels, dtype=np.int64)
    count = labels.shape[0]
    colour = PALETTE[labels % 10] * rng.uniform(0.6, 1.0, size=(count, 1))  # N x 3, brightness
    pattern = labels // 10
    y, x = np.mgrid[0:32, 0:32].astype(np.float64)
    # Patterns 0..9: horizontal or vertical stripes of 1..5 periods across the image.
    axis = np.where(pattern[:, None, None] % 2 == 0, y, x)  # N x 32 x 32
    periods = (pattern // 2 + 1)[:, None, None]
    stripes = 0.5 + 0.5 * np.cos(2 * np.pi * periods * axis / 32.0)  # in [0, 1]
    images = colour[:, :, None, None] * (0.55 + 0.45 * stripes[:, None])  # N x 3 x 32 x 32
    images += rng.normal(0.0, NOISE, size=images.shape)
    return np.clip(np.rint(images), 0, 255).astype(np.uint8).reshape(count, 3072)


def _labels(num_classes: int, per_class: int, rng: np.random.Generator) -> np.ndarray:
    labels = np.repeat(np.arange(num_classes), per_class)
    rng.shuffle(labels)
    return labels


def _dump(path: Path, content: dict[bytes, Any]) -> None:
    with path.open("wb") as f:
        pickle.dump(content, f, protocol=2)  # the originals are Python 2 pickles


def _batch(label_key: bytes, labels: np.ndarray, images: np.ndarray, name: str) -> dict:
    return {
        b"batch_label": name.encode(),
        label_key: [int(v) for v in labels],
        b"data": images,
        b"filenames": [f"generated_{i:05d}.png".encode() for i in range(labels.shape[0])],
    }


def write_cifar10(
    root: str | Path, *, train_per_class: int = 50, test_per_class: int = 10, seed: int = 0
) -> Path:
    """Write root/cifar-10-batches-py/ (5 training batches, test batch, meta); return it."""
    rng = np.random.default_rng(seed)
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    train_labels = _labels(10, train_per_class, rng)
    train_images = make_images(train_labels, rng)
    for index, part in enumerate(np.array_split(np.arange(train_labels.shape[0]), 5), start=1):
        name = f"training batch {index} of 5"
        content = _batch(b"labels", train_labels[part], train_images[part], name)
        _dump(folder / f"data_batch_{index}", content)
    test_labels = _labels(10, test_per_class, rng)
    test_images = make_images(test_labels, rng)
    test_batch = _batch(b"labels", test_labels, test_images, "testing batch 1 of 1")
    _dump(folder / "test_batch", test_batch)
    meta = {
        b"num_cases_per_batch": int(np.ceil(train_labels.shape[0] / 5)),
        b"label_names": [n.encode() for n in CIFAR10_CLASSES],
        b"num_vis": 3072,
    }
    _dump(folder / "batches.meta", meta)
    return folder


def write_cifar100(
    root: str | Path, *, train_per_class: int = 10, test_per_class: int = 5, seed: int = 0
) -> Path:
    """Write root/cifar-100-python/ (train, test, meta); return it.

    Coarse labels are fine // 5 (the real super-class mapping is not needed by the trainer).
    """
    rng = np.random.default_rng(seed)
    folder = Path(root) / "cifar-100-python"
    folder.mkdir(parents=True, exist_ok=True)
    for name, per_class in (("train", train_per_class), ("test", test_per_class)):
        labels = _labels(100, per_class, rng)
        content = _batch(b"fine_labels", labels, make_images(labels, rng), name)
        content[b"coarse_labels"] = [int(v) // 5 for v in labels]
        _dump(folder / name, content)
    meta = {
        b"fine_label_names": [n.encode() for n in CIFAR100_CLASSES],
        b"coarse_label_names": [n.encode() for n in CIFAR100_COARSE],
    }
    _dump(folder / "meta", meta)
    return folder
