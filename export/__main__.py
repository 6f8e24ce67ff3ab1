"""Export a Keras classifier to every variant, prove each matches Keras, then publish the set.

    python -m export [--artifacts artifacts]            # the tutorial model `make train` left there
    python -m export --model my.keras [--out artifacts/mine] [--classes labels.txt] [--verbose]

The tutorial's model.keras is checksum-checked against train.json; a model of your own needs none:
any Keras classifier of 28x28 or 28x28x1 greyscale images in [0, 1] (export/model_source.py). Both
are loaded with safe_mode=True. Writes every variant, reference.npz and manifest.json (last,
atomically). A variant outside its tolerance is not published and the exit status is 1; a model
that cannot be exported gets one line saying why, exit status 1, and nothing is published.
"""

import sys
from pathlib import Path

from runtime import cli
from runtime.quiet import native_stderr_silenced


def export(args) -> int:
    from export.model_source import named, own, tutorial  # cheap checks first: a refusal is instant

    source = own(args.model) if args.model else tutorial(args.artifacts)
    if args.classes:
        source = named(source, args.classes)
    with native_stderr_silenced(not args.verbose):  # TensorFlow's import prints absl INFO lines
        from export.pipeline import export_all
    print(f"published {export_all(args.out or args.artifacts, source, args.verbose)}")
    return 0


def main(argv=None) -> int:
    parser = cli.parser("python -m export", __doc__, cli.ARTIFACTS)
    parser.add_argument(
        "--model",
        type=Path,
        metavar="FILE",
        help="a Keras classifier of your own (.keras) to export instead, no train.json "
        "needed: one input of 28x28 or 28x28x1 greyscale in [0, 1], one row of class "
        "scores out (default: the tutorial's ARTIFACTS/model.keras)",
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
        help="text file with one class name per line, in output order (default: the "
        "Fashion-MNIST names for 10 outputs, else 'class 0', 'class 1', ...)",
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
