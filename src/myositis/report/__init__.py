"""myositis.report."""
