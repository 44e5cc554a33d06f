"""``LOG_FORMAT=json``: one JSON object per line, which log collectors index without parsing rules."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

# what every LogRecord carries; anything else on a record came from ``extra=`` and is worth keeping
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "request_id"}


class JsonFormatter(logging.Formatter):
    """``time``, ``level``, ``logger``, ``request_id``, ``message``, ``exception``? and the record's extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", None),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        for key, value in vars(record).items():
            if key not in _STANDARD:
                entry.setdefault(key, value)
        return json.dumps(entry, default=str, ensure_ascii=False)
