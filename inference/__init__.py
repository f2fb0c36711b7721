"""Processing jobs, the model registry and the processing modules (depth, pre-labelling, ...)."""
