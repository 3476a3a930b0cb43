"""The one place the program reads the date: EKS and Istio support windows and certificate validity
are judged against it. Everything else takes the date as an argument, so tests pin it here
(tests/conftest.py) and a test never depends on the day it runs."""

from __future__ import annotations

import datetime


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
