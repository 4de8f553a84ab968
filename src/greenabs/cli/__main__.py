"""``python -m greenabs.cli``."""

from greenabs.cli import main

main()
