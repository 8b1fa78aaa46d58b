"""gunicorn's settings for the web process: `gunicorn -c python:advocacy.gunicorn_conf
'advocacy:create_app()'` (the Dockerfile and docker-compose.yml do). Options on the command
line or in GUNICORN_CMD_ARGS (e.g. "--workers 4 --threads 16") override these.

Threads (gthread), not one process per connection (sync): a slow client then holds one
thread, not a whole process, and gthread parks a connection that has sent nothing yet
without any thread. Processes are WEB_CONCURRENCY (gunicorn's own variable), 2 by default.

The access log (`--access-logfile`, on in docker-compose.yml) and the error log never hold a
link's token: RedactingLogger cuts it out of every line (advocacy/logs.py).
"""

import os
from typing import Any

from gunicorn.glogging import Logger

from advocacy.logs import keep_tokens_out


class RedactingLogger(Logger):  # type: ignore[misc]  # gunicorn has no type hints
    """gunicorn's own logger, its access and error lines passed through logs.RedactTokens:
    the request line, the Referer and any other atom of the format, and error messages."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        keep_tokens_out(self.error_log, self.access_log)


logger_class = RedactingLogger

worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = 8
# A worker that stops answering its arbiter for this long is restarted (a stuck request);
# slow clients are bounded by the app's own read timeout (advocacy/serving.py).
timeout = 30
graceful_timeout = 30
keepalive = 5
# Request line and headers: gunicorn's defaults, written out (a longer one gets a 400).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
