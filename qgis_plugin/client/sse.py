"""A parser for server-sent events arriving in arbitrary chunks (pure Python, tested alone)."""

import json


class SseParser:
    """Feed bytes as they arrive; get complete ``(event, data)`` pairs back."""

    def __init__(self):
        self._buffer = b""

    def feed(self, chunk):
        self._buffer += bytes(chunk)
        events = []
        while b"\n\n" in self._buffer:
            block, self._buffer = self._buffer.split(b"\n\n", 1)
            kind, data = "message", []
            for line in block.decode("utf-8").splitlines():
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip())
            if data:
                events.append((kind, json.loads("\n".join(data))))
        return events
