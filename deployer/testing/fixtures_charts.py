"""pytest fixtures for the offline stand-in dependency charts (chart_cache)."""
