"""Content: weighted length, normalization, duplicate detection, generators and quality gates."""
