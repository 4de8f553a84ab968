"""``python -m greenabs``: the command line, as the ``greenabs`` script runs it."""

from greenabs.cli import main

if __name__ == "__main__":  # not when a spawned worker process imports it
    main()
