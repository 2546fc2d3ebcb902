# smsretire — `make run` starts the portal with demo data; `make test` runs every test.
GO       ?= go
# The Go release this project builds with; the go command fetches it when the machine has another.
export GOTOOLCHAIN := go1.27.3
BIN      := bin/smsretire
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
DATA_DIR ?= data

.PHONY: all run build generate vendor test check vet bench fuzz clean

all: build

## run: build, migrate, seed demo users and serve on http://127.0.0.1:8080
run: build
	./$(BIN) serve --demo --data-dir $(DATA_DIR)

build: vendor generate
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/smsretire

## generate: templ components → _templ.go (committed)
generate:
	$(GO) tool templ generate -log-level error

## vendor: third-party front-end files from npm (package-lock.json) into static/vendor
vendor: static/vendor/htmx.min.js

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

static/vendor/htmx.min.js: node_modules/.package-lock.json
	cp node_modules/htmx.org/dist/htmx.min.js $@

## test: checks, then every test (browser and PostgreSQL tests included)
test: vendor check
	$(GO) test -count=1 -timeout 8m ./...

## check: generated code is fresh, code is formatted, vet is clean, go.mod is tidy, imports flow one way
check:
	@$(GO) tool templ generate -log-level error
	@git diff --exit-code --stat -- '*_templ.go' || (echo "generated _templ.go files were stale: run 'make generate' and commit" && exit 1)
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '_templ.go$$'))" || (gofmt -l $$(git ls-files '*.go' | grep -v '_templ.go$$') && echo "gofmt needed" && exit 1)
	$(GO) vet ./...
	@$(GO) mod tidy -diff || (echo "go.mod or go.sum is not tidy: run 'go mod tidy' and commit" && exit 1)
	@GO=$(GO) .ci/depcheck

## bench: the measured figures quoted in README and issue notes (PostgreSQL at 127.0.0.1 for the second)
bench: vendor
	$(GO) test -run '^$$' -bench 'Import100k$$' -benchtime 3x -benchmem ./internal/roster/
	$(GO) test -run '^$$' -bench 'Import1MPostgres$$' -benchtime 1x -benchmem -timeout 20m ./internal/roster/
	$(GO) test -run '^$$' -bench 'UserCounts1MPostgres$$' -benchtime 20x -timeout 20m ./internal/store/
	$(GO) test -run '^$$' -bench 'Console1MPostgres$$' -benchtime 20x -timeout 20m ./internal/support/
	$(GO) test -run '^$$' -bench 'DeliverMigrations' -benchtime 3x ./internal/outbox/
	$(GO) test -run '^$$' -bench 'EnqueueParallel' -benchtime 5x ./internal/store/
	$(GO) test -run '^$$' -bench 'PurgeHistory200k' -benchtime 1x ./internal/retention/
	$(GO) test -run '^$$' -bench 'CodeLatency' -benchtime 1x ./web/
	uptime
	$(GO) test -run '^$$' -bench 'PageLoad|Migrations' -benchtime 1x -timeout 20m ./web/
	$(GO) test -run '^$$' -bench 'QRImage' -benchtime 20x -benchmem ./web/
	$(GO) test -run '^$$' -bench 'NoticeTokenParse|^BenchmarkValidate$$|QRDataURL|CheckCode|ServePage' -benchmem ./internal/campaign/ ./internal/factor/totp/ ./internal/identity/ ./web/

## fuzz: run each fuzz target for a short while
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzNoticeTokenParse -fuzztime 20s ./internal/campaign/
	$(GO) test -run '^$$' -fuzz FuzzNormalize -fuzztime 20s ./internal/phone/
	$(GO) test -run '^$$' -fuzz '^FuzzFind$$' -fuzztime 20s ./internal/identity/
	$(GO) test -run '^$$' -fuzz '^FuzzNormalize$$' -fuzztime 20s ./internal/codeinput/
	$(GO) test -run '^$$' -fuzz '^FuzzSplitLine$$' -fuzztime 20s ./internal/roster/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 20s ./internal/partner/

clean:
	rm -rf bin node_modules static/vendor/*.js
