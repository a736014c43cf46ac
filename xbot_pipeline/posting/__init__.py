"""posting."""
