"""Train the tutorial's Fashion-MNIST classifier and save it with its figures.

    python -m train [--epochs 10] [--batch-size 32] [--seed 3] [--out artifacts]

Writes OUT/model.keras and OUT/train.json (recipe, seconds, test accuracy, checksums), atomically.
"""

import sys
from pathlib import Path

from runtime import cli
from runtime.dataset import data_dir, dataset_sha256, load_split
from runtime.files import atomic_path, sha256_file, write_json
from runtime.quiet import native_stderr_silenced
from train.recipe import Recipe


def train_cli(args) -> int:
    if args.epochs < 1 or args.batch_size < 1:
        raise cli.UsageError("--epochs and --batch-size must be at least 1")
    if not 0 <= args.prune < 1:
        raise cli.UsageError("--prune must be at least 0 and below 1")
    folder = data_dir()
    train_set, test_set = load_split("train", folder), load_split("test", folder)
    with native_stderr_silenced():  # TensorFlow's import prints absl INFO lines
        from train.fit import train  # TensorFlow: only once the flags and the data are good

    recipe = Recipe(args.epochs, args.batch_size, args.seed, prune=args.prune)
    result = train(recipe, train_set, test_set)
    model_path = args.out / "model.keras"
    with atomic_path(model_path) as tmp:
        result.model.save(tmp)
    write_json(
        args.out / "train.json",
        {
            "epochs": recipe.epochs,
            "batch_size": recipe.batch_size,
            "seed": recipe.seed,
            **({"prune": recipe.prune, "fine_tune_epochs": recipe.fine_tune_epochs} if recipe.prune else {}),
            "seconds": round(result.seconds, 2),
            "accuracy": result.accuracy,
            "model_sha256": sha256_file(model_path),
            "dataset": dataset_sha256(folder),
        },
    )
    print(
        f"test accuracy {result.accuracy:.4f} in {result.seconds:.1f} s (seed {recipe.seed}) -> {model_path}"
    )
    return 0


def main(argv=None) -> int:
    defaults = Recipe()  # the defaults live on the recipe, once
    parser = cli.parser("python -m train", __doc__)
    parser.add_argument(
        "--epochs",
        type=int,
        default=defaults.epochs,
        metavar="N",
        help=f"passes over the 60,000 training images (default: {defaults.epochs})",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=defaults.batch_size,
        metavar="N",
        help=f"images per weight update (default: {defaults.batch_size})",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=defaults.seed,
        metavar="N",
        help="seed of the initial weights and the shuffling; the same seed gives the same "
        f"weights (default: {defaults.seed})",
    )
    parser.add_argument(
        "--prune",
        type=float,
        default=defaults.prune,
        metavar="SHARE",
        help="then set this share of each Dense kernel's weights to zero (the smallest) and fine-tune "
        f"{defaults.fine_tune_epochs} epochs keeping them zero, for sparse C weights (default: none)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=cli.DEFAULT_ARTIFACTS,
        metavar="DIR",
        help="folder for model.keras and train.json (default: artifacts)",
    )
    return cli.run(train_cli, parser, argv)


if __name__ == "__main__":
    sys.exit(main())
