"""The faces of saraban: the command line (and the web). Only they import Typer or FastAPI;
they parse, call the core and print."""
