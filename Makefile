# rehearsal's make targets: the two commands a new user needs (demo, test), and the release
# checklist's targets, which wrap the CLI and fail with its exit code.
#
#   make demo                          the whole pre-release story against a local emulator
#   make test                          every test (starts its own emulators)
#   make plan-prerelease-from-prod     SERVER_VERSION=3.2.0 → plans/prerelease.plan.json
#   make create-prerelease-from-prod   applies exactly that saved plan
#   make destroy-prerelease            tears pre-release down (AUTO_APPROVE=1 for CI)
#
# AWS_PROFILE, AWS_ENDPOINT_URL and AWS_REGION are read by rehearsal itself; AWS_REGION, when set,
# replaces the spec's region (README.md, "Install and point it at AWS").

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export CARGO_TARGET_DIR ?= $(HOME)/.cache/rehearsal-target
REHEARSAL := $(CARGO_TARGET_DIR)/debug/rehearsal

# The checklist keeps the release version in server/version/minor_version; SERVER_VERSION wins.
SERVER_VERSION ?= $(shell cat server/version/minor_version 2>/dev/null)
PLAN_FILE := plans/prerelease.plan.json
VAR_FLAGS := $(if $(SERVER_VERSION),--var server_version=$(SERVER_VERSION))
APPROVE_FLAG := $(if $(filter 1 yes true,$(AUTO_APPROVE)),--auto-approve)

.PHONY: help build plan-prerelease-from-prod create-prerelease-from-prod destroy-prerelease \
        status-prerelease demo test test-engine emulator-install emulator-up emulator-down lint bench

help:
	@sed -n 's/^#   //p' Makefile

build:
	cargo build --quiet --bin rehearsal

plan-prerelease-from-prod: build
	$(REHEARSAL) plan prerelease $(VAR_FLAGS) --out $(PLAN_FILE)

create-prerelease-from-prod: build
	@test -f $(PLAN_FILE) || { echo "no $(PLAN_FILE): run 'make plan-prerelease-from-prod' first" >&2; exit 1; }
	$(REHEARSAL) apply $(PLAN_FILE)

destroy-prerelease: build
	$(REHEARSAL) destroy prerelease $(APPROVE_FLAG)

status-prerelease: build
	$(REHEARSAL) status prerelease

demo:
	bash scripts/demo.sh

# Everything: engine, CLI and emulator tests in one binary, unit tests, the scripts' self-check.
test: emulator-install
	cargo test --all-targets
	bash scripts/test_scripts.sh

# The SDK-free engine and CLI tests only: seconds, no emulator.
test-engine:
	cargo test --no-default-features --lib --test it

lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings

bench:
	cargo bench --no-default-features --bench engine

emulator-install:
	bash scripts/emulator.sh install

emulator-up:
	@bash scripts/emulator.sh up

emulator-down:
	@bash scripts/emulator.sh down
