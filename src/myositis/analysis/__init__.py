"""myositis.analysis."""
