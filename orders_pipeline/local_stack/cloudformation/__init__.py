"""CloudFormation: stack behaviour AWS has and moto lacks; the base of our resource types."""
