"""The web back office at ``/admin``: server-rendered screens (Jinja2 + HTMX), no build step."""
