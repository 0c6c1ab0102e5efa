"""Business logic: functions taking `(session, *, ...)`; they flush, the caller commits."""
