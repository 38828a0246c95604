.PHONY: demo test build

# Run the hub on sample data at http://127.0.0.1:8080 (installs PostgreSQL + PostGIS if missing).
demo:
	@scripts/demo.sh

# Run every test against a real PostgreSQL + PostGIS (installed if missing).
test:
	@scripts/test.sh

build:
	@. scripts/env.sh && build_hub
