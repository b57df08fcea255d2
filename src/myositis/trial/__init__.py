"""myositis.trial."""
