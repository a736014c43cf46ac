"""The fleet: posting and recovery steps fanned out per shard of accounts, on Celery workers when
``XBOT_EXECUTOR=celery`` (docs/SCALING.md), and their outputs in a folder every worker reaches."""
