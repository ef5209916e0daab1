"""What the pipeline costs on AWS: the local stack's meters priced with AWS list prices."""
