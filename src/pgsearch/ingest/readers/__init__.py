"""One reader per file format; each turns the bytes of a file into documents (base.Reader)."""
