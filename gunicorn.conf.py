"""Gunicorn settings for the SOFP web tier (``gunicorn -c gunicorn.conf.py sofp.wsgi``).

Every value can be changed by an environment variable so that one image serves a laptop,
a container behind a reverse proxy, and the load test. The web tier keeps no state of its
own (sessions live in the database, the cache is shared), so any number of these
processes, on any number of containers, can serve the same users.
"""

from __future__ import annotations

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def _workers() -> int:
    """Cores + 1, never more than WEB_CONCURRENCY. The pages are CPU work in Python (the
    engine, templates), so a process runs one request at a time whatever its threads;
    each process also keeps its own reused projections and pages, which more processes
    compute again. Measured with the 200-user load test on 2 cores: 3 processes × 4
    threads served 31 requests/s, 5 × 2 (gunicorn's 2 × cores + 1) 23, 2 × 6 22."""
    by_cpu = multiprocessing.cpu_count() + 1
    cap = _int("WEB_CONCURRENCY", 0)
    return max(1, min(by_cpu, cap) if cap > 0 else by_cpu)


wsgi_app = "sofp.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = _workers()
# Threads let one worker overlap database waits; the ORM opens one connection per thread.
threads = _int("GUNICORN_THREADS", 4)
worker_class = "gthread"
# A request that runs longer than this is killed and logged; uploads and exports of a whole
# plan finish in a few seconds, so 60 s only catches something stuck.
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Keep idle connections open longer than any client or proxy keeps them idle (nginx and
# load balancers use 60 s): the side that closes an idle connection must be the client,
# or a request sent just as the server closes it is lost ("connection reset"). With 5 s,
# people who paused 5 s before the next click hit exactly that race now and then.
keepalive = _int("GUNICORN_KEEPALIVE", 75)
# Recycle workers now and then so a slow leak never takes the site down.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)
# Trust X-Forwarded-* only from the reverse proxy (compose network / loopback by default).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# Logs go to stdout/stderr where the container runtime collects them.
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s "%(a)s"'
# With LOG_FORMAT=json (the default when DEBUG is off, as in sofp/settings.py) gunicorn's
# own lines are JSON too, so one log pipeline parses everything.
_debug = os.environ.get("DEBUG", "true").strip().lower() in {"1", "true", "yes", "on"}
if os.environ.get("LOG_FORMAT", "plain" if _debug else "json") == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            }
        },
        "handlers": {
            "error_console": {"class": "logging.StreamHandler", "formatter": "json"},
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            },
        },
        "loggers": {
            "gunicorn.error": {"level": loglevel.upper(), "handlers": ["error_console"]},
            "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        },
    }
# The cyclic garbage collector of each worker (sofp/gc_serving.py): once the app is loaded
# its objects are frozen (never walked again) and young collections run every 10,000
# allocations instead of 700. Measured over the load test's mix in process: collecting
# took ~8% of the CPU, a full collection ~100 ms with every thread of the worker stopped;
# frozen, ~1%, in pauses of ~3 ms (50,000: the same total in pauses of ~20 ms).
# GUNICORN_GC_FREEZE=false and GUNICORN_GC_THRESHOLD="" give Python's defaults back.
_gc_freeze = os.environ.get("GUNICORN_GC_FREEZE", "true").strip().lower() in {"1", "true", "on"}
_gc_threshold = os.environ.get("GUNICORN_GC_THRESHOLD", "10000,20,100")


def post_worker_init(worker) -> None:
    """After the worker loaded the app, before its first request."""
    from sofp.gc_serving import parse_threshold, tune_for_serving

    tune_for_serving(freeze=_gc_freeze, threshold=parse_threshold(_gc_threshold))


# Files under /dev/shm keep worker heartbeats off slow container disks.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
preload_app = False
