"""An e-mail backend with an SMTP server's latency that appends each message to a file.

Used by the worker-crash test: the worker runs in another process, so messages must land
somewhere both processes can read; the delay makes "killed in the middle" reliable.
"""

from __future__ import annotations

import fcntl
import json
import os
import time

from django.core.mail.backends.base import BaseEmailBackend


class SlowFileBackend(BaseEmailBackend):
    def send_messages(self, messages):
        delay = float(os.environ.get("SLOW_MAIL_DELAY", "0.3"))
        path = os.environ["SLOW_MAIL_FILE"]
        for message in messages:
            time.sleep(delay)  # the server is thinking; a crash here loses nothing
            with open(path, "a") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                fh.write(json.dumps({"to": message.to, "subject": message.subject}) + "\n")
        return len(messages)
