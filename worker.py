"""Start a delivery worker: `python worker.py [--burst]`, the same as `advocacy worker`."""

import sys

from advocacy.cli import main

if __name__ == "__main__":
    sys.argv[1:1] = ["worker"]
    main()
