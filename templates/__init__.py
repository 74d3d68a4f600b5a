"""Jinja templates of the HTML profile (shipped as ``localprofile.templates``)."""
