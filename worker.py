"""Start a delivery worker: `python worker.py`, the same as `advocacy worker`."""

from advocacy import create_app
from advocacy.cli import run_worker

if __name__ == "__main__":
    run_worker(create_app())
