"""Cloud Map: the private DNS namespace and the service ECS services register in."""
