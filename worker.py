"""Start a delivery worker: `python worker.py [--burst]`, the same as `advocacy worker`.

It builds the app directly, without the command line. Neither loads Flask-Migrate and
Alembic (about 12 MB), which only `advocacy init` and `advocacy db` need.
"""

import sys

from advocacy import create_app
from advocacy.worker import run_worker

if __name__ == "__main__":
    extra = [arg for arg in sys.argv[1:] if arg != "--burst"]
    if extra:
        sys.exit(f"usage: python worker.py [--burst] (unknown: {' '.join(extra)})")
    run_worker(create_app(), burst="--burst" in sys.argv[1:])
