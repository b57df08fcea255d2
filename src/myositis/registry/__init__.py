"""myositis.registry."""
