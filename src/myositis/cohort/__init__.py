"""myositis.cohort."""
