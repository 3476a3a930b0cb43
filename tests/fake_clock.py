"""`MESH_FAKE_TODAY=2028-06-30 ./scripts/test.sh`: the suite as it runs on another day.

Moves the real clock of the test process (`datetime.datetime.now`, `utcnow`, `today`,
`datetime.date.today`) to that day, the way freezegun does, before any test module is imported.
Every test pins the date it means (tests/helpers.py NOW, the program's clock in conftest), so the
suite must pass on any day; this proves it. Only the table-staleness test reads the real day by
design, and is marked `calendar`: deselect it with `-m "not calendar"` to simulate a later day.
"""

from __future__ import annotations

import datetime
import os

_REAL_DATETIME, _REAL_DATE = datetime.datetime, datetime.date


class _Meta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, cls._real)

    def __subclasscheck__(cls, sub):
        return issubclass(sub, cls._real)


def shift_to(day: str) -> None:
    offset = _REAL_DATE.fromisoformat(day) - _REAL_DATE.today()

    class FakeDatetime(_REAL_DATETIME, metaclass=_Meta):
        _real = _REAL_DATETIME

        @classmethod
        def now(cls, tz=None):
            return _REAL_DATETIME.now(tz) + offset

        @classmethod
        def utcnow(cls):
            return _REAL_DATETIME.now(datetime.UTC).replace(tzinfo=None) + offset

        @classmethod
        def today(cls):
            return cls.now()

    class FakeDate(_REAL_DATE, metaclass=_Meta):
        _real = _REAL_DATE

        @classmethod
        def today(cls):
            return _REAL_DATE.today() + offset

    datetime.datetime, datetime.date = FakeDatetime, FakeDate


if os.environ.get("MESH_FAKE_TODAY"):
    shift_to(os.environ["MESH_FAKE_TODAY"])
