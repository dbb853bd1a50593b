"""Where mlci's checks are composed: the workspace, the baseline, the steps of `mlci check`."""
