"""Training that runs only when what it depends on changed: the inputs hash, the outputs cache,
the run itself (or DVC's), and the imports a declaration misses."""
