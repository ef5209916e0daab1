"""Lambda: Invoke runs the deployed zip in a warm subprocess per function version."""
