"""Start a delivery worker: `python worker.py [--burst]`, the same as `advocacy worker`.

It builds the app directly rather than through the command line, so the process never
loads Flask-Migrate and Alembic (about 12 MB), which only `advocacy init` needs.
"""

import sys

from advocacy import create_app
from advocacy.worker import run_worker

if __name__ == "__main__":
    extra = [arg for arg in sys.argv[1:] if arg != "--burst"]
    if extra:
        sys.exit(f"usage: python worker.py [--burst] (unknown: {' '.join(extra)})")
    run_worker(create_app(), burst="--burst" in sys.argv[1:])
