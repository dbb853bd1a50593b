"""`python -m mlci` runs the command line."""

from mlci.cli import main

if __name__ == "__main__":
    main()
