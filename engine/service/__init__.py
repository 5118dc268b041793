"""The local engine service: the ask pipeline over HTTP (JSON or server-sent events)."""
