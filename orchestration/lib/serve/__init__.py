"""What readers get: the serving copy of the marts BI reads (publish) and the static HTML
dashboard over it (dashboard: data, charts, views, page)."""
