"""Export a Keras classifier to every variant, prove each matches Keras, then publish the set.

    python -m export [--artifacts artifacts]            # the tutorial model `make train` left there
    python -m export --model my.keras [--out artifacts/mine] [--classes labels.txt] [--verbose]
    python -m export --model cnn.keras --data photos/ [--data-test test/] [--input-range 0-255]

The tutorial's model.keras is checksum-checked against train.json; a model of your own needs none:
any Keras image classifier, (H, W), (H, W, 1) or (H, W, 3) images of 8 to 512 pixels a side
(export/model_source.py). Both are loaded with safe_mode=True. Every variant is calibrated and
gated on your labelled images (--data: a folder per class, or an .npz; export/data.py), or without
them on Fashion-MNIST (28x28 greyscale models only). Writes every variant, reference.npz, the gate's
images and manifest.json (last, atomically). A variant outside its tolerance is not published and
the exit status is 1; a model or data that cannot be used gets one line saying why (a line per
file), exit status 1, and nothing is published.
"""

import sys
from pathlib import Path

from runtime import cli
from runtime.inputs import Range
from runtime.quiet import native_stderr_silenced


def export(args) -> int:
    from export.data import DataSource  # cheap checks first: a refusal is instant
    from export.model_source import named, own, tutorial

    if args.data_test and not args.data:
        raise cli.UsageError("--data-test needs --data (the images to calibrate on)")
    source = own(args.model) if args.model else tutorial(args.artifacts)
    if args.classes:
        source = named(source, args.classes)
    data = DataSource.named(args.data, args.data_test) if args.data else None
    with native_stderr_silenced(not args.verbose):  # TensorFlow's import prints absl INFO lines
        from export.pipeline import export_all
    published = export_all(args.out or args.artifacts, source, args.verbose, data, args.input_range)
    print(f"published {published}")
    return 0


def main(argv=None) -> int:
    parser = cli.parser("python -m export", __doc__, cli.ARTIFACTS)
    parser.add_argument(
        "--model",
        type=Path,
        metavar="FILE",
        help="a Keras classifier of your own (.keras) to export instead, no train.json "
        "needed: one input of (H, W), (H, W, 1) or (H, W, 3) images, 8 to 512 pixels a side, one "
        "row of class scores out (default: the tutorial's ARTIFACTS/model.keras)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        metavar="DIR|NPZ",
        help="your labelled images to calibrate and gate on: a folder with one subfolder per class "
        "(as Keras' image_dataset_from_directory reads; the sorted folder names are the classes), "
        "or an .npz of x (images), y (labels) and optionally classes; split reproducibly into "
        "calibration and gate images (default: Fashion-MNIST, for 28x28 greyscale models only)",
    )
    parser.add_argument(
        "--data-test",
        type=Path,
        metavar="DIR|NPZ",
        help="separate labelled images for the gate, then all of --data calibrates (default: none, "
        "a share of each class of --data gates)",
    )
    parser.add_argument(
        "--input-range",
        type=Range,
        choices=list(Range),
        help="the values the model takes for black to white, when it does not start with a "
        "Rescaling layer (which means 0-255) (default: 0-1)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="folder to publish the variants and manifest.json in (default: --artifacts)",
    )
    parser.add_argument(
        "--classes",
        type=Path,
        metavar="LABELS",
        help="text file with one class name per line, in output order (default: the names "
        "--data gives, else the Fashion-MNIST names for 10 outputs, else 'class 0', 'class 1', ...)",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="let TensorFlow's and the converters' own log lines through "
        "(default: off, the export's own lines only)",
    )
    return cli.run(export, parser, argv)


if __name__ == "__main__":
    sys.exit(main())
