"""The routes of the web face, one module per page group (listed in saraban.faces.web.app)."""
