"""myositis.study: declarative study specifications and the runner that executes them."""
