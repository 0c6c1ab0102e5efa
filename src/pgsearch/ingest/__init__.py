"""Ingest (pure functions, no database): `discovery` finds input files, `files` parses one with
the reader for its type (`readers/`, one module per format family), `chunking` splits text."""
