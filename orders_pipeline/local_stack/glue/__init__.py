"""Glue: a crawler that really crawls, classifiers, and the catalog as the engines see it."""
