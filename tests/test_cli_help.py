"""`python -m train --help` and `python -m export --help` say what each option does and its default."""

import re

import pytest

from tests.conftest import run_cli
from train.recipe import Recipe

RECIPE = Recipe()
DEFAULTS = {  # cli -> option -> how its help states the default
    "train": {
        "--epochs": f"(default: {RECIPE.epochs})",
        "--batch-size": f"(default: {RECIPE.batch_size})",
        "--seed": f"(default: {RECIPE.seed})",
        "--prune": "(default: none)",
        "--out": "(default: artifacts)",
    },
    "export": {
        "--artifacts": "(default: artifacts",
        "--model": "(default: the tutorial's ARTIFACTS/model.keras)",
        "--out": "(default: --artifacts)",
        "--classes": "(default: the names --data gives, else the Fashion-MNIST names for 10",
        "--verbose": "(default: off",
        "--data": "(default: Fashion-",
        "--data-test": "(default: none",
        "--input-range": "(default: 0-1)",
    },
}


def option_help(text: str) -> dict[str, str]:
    """Each option's help from argparse's output, its wrapped lines joined: option -> text."""
    blocks = re.split(r"\n  (?=-)", text.split("options:", 1)[1])
    return {block.split()[0]: " ".join(block.split()[1:]) for block in blocks if block.strip()}


@pytest.mark.parametrize("cli", DEFAULTS)
def test_help_says_what_each_option_does_and_its_default(cli):
    helps = option_help(run_cli(cli, "--help").stdout)
    helps.pop("-h,")
    assert set(helps) == set(DEFAULTS[cli])  # every option is described
    for option, default in DEFAULTS[cli].items():
        assert default in helps[option], helps[option]
        assert len(helps[option].split(" (default")[0].split()) >= 5, helps[option]  # says what it does
