"""The web face: FastAPI over the core, server-rendered Thai pages (Jinja2), a little htmx, nothing loaded
from outside the server. ``create_app`` builds it; ``saraban web`` serves it on uvicorn."""
