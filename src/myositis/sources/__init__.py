"""myositis.sources."""
