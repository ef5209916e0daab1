"""The embedded local AWS stack: moto stores the state, this package moves the data.
Only the CLI and the tests import this package; pipeline code reaches it through AWS_ENDPOINT_URL.
"""
