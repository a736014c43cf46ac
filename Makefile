# The two commands of the README. Everything they need is installed on first use (scripts/bootstrap.sh).
.PHONY: demo test setup ui lint

demo:  ## run the main job end to end on embedded defaults (SQLite, local Dagster, local X stand-in)
	@scripts/demo.sh

test:  ## run the whole suite on SQLite, then on Postgres (127.0.0.1:5432)
	@scripts/test.sh $(ARGS)

setup:  ## only install (virtual environment, pinned packages, Chromium)
	@scripts/bootstrap.sh

ui:  ## open the Dagster UI on the embedded instance
	@scripts/bootstrap.sh && .venv/bin/xbot ui

lint:
	@.venv/bin/ruff check . && .venv/bin/ruff format --check .
