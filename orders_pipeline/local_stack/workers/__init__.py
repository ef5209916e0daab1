"""The data-plane workers' host: a child process, their polling loop and their checkpoints."""
