"""enrollcfn: the Student Enrollment Laravel API on ECS Fargate, as nested CloudFormation."""

__version__ = "0.1.0"
