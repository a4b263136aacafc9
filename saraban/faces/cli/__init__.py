"""The saraban command line: Typer commands that parse, call the core, and print."""
