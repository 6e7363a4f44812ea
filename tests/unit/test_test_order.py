"""The modules that tests/conftest.py runs first exist, each named once.

A renamed or removed module would otherwise drop out of the order without a word,
and the long module it was would again start last.
"""

from pathlib import Path

from tests.conftest import LONGEST_MODULES

ROOT = Path(__file__).resolve().parents[2]


def test_every_module_run_first_exists_once() -> None:
    missing = [path for path in LONGEST_MODULES if not (ROOT / path).is_file()]
    assert not missing, f"tests/conftest.py LONGEST_MODULES names no such module: {missing}"
    assert len(set(LONGEST_MODULES)) == len(LONGEST_MODULES)
