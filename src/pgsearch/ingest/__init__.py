"""Ingest: find and parse input files, split text into chunks (pure functions, no database)."""
