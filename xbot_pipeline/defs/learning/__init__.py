"""Learning in Dagster: planning_job, metrics_job, post_rewards, bandit_posteriors and their checks."""
