"""``python -m iaptkit``: the same as the ``iaptkit`` command."""

from iaptkit.cli import main

if __name__ == "__main__":  # pragma: no cover - exercised through a subprocess in the tests
    main()
