# Shortcuts; the launcher ./svyaz and .ci/run are the source of truth.
PG_URL ?= postgres://postgres@127.0.0.1:5432/test

.PHONY: up test test-pg e2e lint ci
up:
	./svyaz up
test:
	./svyaz test
test-pg:
	DATABASE_URL=$(PG_URL) .venv/bin/pytest tests
e2e:
	DJANGO_ALLOW_ASYNC_UNSAFE=true .venv/bin/pytest e2e
lint:
	.venv/bin/ruff check .
ci:
	.ci/run
