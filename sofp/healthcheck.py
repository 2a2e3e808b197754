"""Container healthcheck: ``python -m sofp.healthcheck [ready|live]`` exits 0 when healthy.

It sends the first ALLOWED_HOSTS name as the Host header, so the check passes Django's
host validation in production (where 127.0.0.1 is rightly not an allowed host). It does
not import Django, so it is cheap to run every few seconds.
"""

from __future__ import annotations

import os
import sys
import urllib.request


def host_header() -> str:
    for name in os.environ.get("ALLOWED_HOSTS", "").split(","):
        name = name.strip().lstrip(".")
        if name and "*" not in name:
            return name
    return "localhost"


def main(argv: list[str]) -> int:
    which = argv[1] if len(argv) > 1 else "ready"
    port = os.environ.get("PORT", "8000")
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/health/{which}", headers={"Host": host_header()}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return 0 if response.status == 200 else 1
    except Exception as exc:  # any failure is "unhealthy"; say why in the container log
        print(f"health/{which}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
