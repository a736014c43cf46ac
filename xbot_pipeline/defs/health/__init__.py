"""Health assets, checks, schedules and run-outcome sensors (thin wrappers over ``analytics``)."""
