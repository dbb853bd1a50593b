"""The steps of `mlci check`, one module each; mlci/pipeline/run.py lists them in order."""
