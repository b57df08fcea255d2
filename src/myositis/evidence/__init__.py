"""myositis.evidence."""
