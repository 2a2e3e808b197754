"""`make run`: the web server, a Celery worker and beat together; one Ctrl-C stops all.

The worker runs beat inside itself (``-B``), which is right for one machine; production
runs them as separate services (docker-compose.yml).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    port = os.environ.get("PORT", "8000")
    host = os.environ.get("HOST", "127.0.0.1")
    py = sys.executable
    (ROOT / "var").mkdir(exist_ok=True)
    commands = {
        "web": [py, "manage.py", "runserver", f"{host}:{port}", "--noreload"],
        "worker": [
            py, "-m", "celery", "-A", "sofp", "worker", "-B", "--loglevel=INFO",
            "--concurrency=1", "--pool=solo",
            f"--schedule={ROOT / 'var' / 'celerybeat-schedule'}",
        ],
    }  # fmt: skip
    procs = {name: subprocess.Popen(cmd, cwd=ROOT) for name, cmd in commands.items()}
    print(f"SOFP is running on http://{host}:{port}/ with a Celery worker and beat.")
    print("Press Ctrl-C to stop everything.")

    def stop(*_: object) -> None:
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.time() + 10
        for p in procs.values():
            try:
                p.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()

    signal.signal(signal.SIGTERM, lambda *a: (stop(), sys.exit(0)))
    try:
        while True:
            for name, p in procs.items():
                if p.poll() is not None:
                    print(f"{name} exited with code {p.returncode}; stopping the rest.")
                    stop()
                    return p.returncode or 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nStopping…")
        stop()
        return 0


if __name__ == "__main__":
    sys.exit(main())
