# rehearsal's make targets: the two commands a new user needs (demo, test), and the release
# checklist's targets, which wrap the CLI and fail with its exit code.
#
#   make demo                          the whole pre-release story against a local emulator
#   make demo-release                  a whole release, checklist line by line, against a local emulator
#   make test                          every test (starts its own emulators)
#   make plan-prerelease-from-prod     → plans/prerelease.plan.json (server/version/minor_version, or SERVER_VERSION=3.2.0)
#   make create-prerelease-from-prod   applies exactly that saved plan
#   make check-prerelease             runs the spec's checks again (the server started, migrations ran)
#   make destroy-prerelease            tears pre-release down (AUTO_APPROVE=1 for CI)
#   make status                        what runs where: every environment of the project, one table
#   make fuzz                          libFuzzer on specs and plan files (FUZZ_TIME=600 seconds)
#
# AWS_PROFILE, AWS_ENDPOINT_URL and AWS_REGION are read by rehearsal itself; AWS_REGION, when set,
# replaces the spec's region (README.md, "Install and point it at AWS").

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export CARGO_TARGET_DIR ?= $(HOME)/.cache/rehearsal-target
REHEARSAL := $(CARGO_TARGET_DIR)/debug/rehearsal

# The checklist keeps the release version in server/version/minor_version, which the specs read
# themselves (`from_file`): SERVER_VERSION, when given, becomes --var and wins over the file.
PLAN_FILE := plans/prerelease.plan.json
VAR_FLAGS := $(if $(SERVER_VERSION),--var server_version=$(SERVER_VERSION))
APPROVE_FLAG := $(if $(filter 1 yes true,$(AUTO_APPROVE)),--auto-approve)

# rehearsal's hints name this Makefile's variables (AUTO_APPROVE=1, SERVER_VERSION=...) rather than
# only the flags they become, when it knows which target runs it.
plan-prerelease-from-prod create-prerelease-from-prod destroy-prerelease status-prerelease status \
check-prerelease: export REHEARSAL_MAKE_TARGET = $@

.PHONY: help build plan-prerelease-from-prod create-prerelease-from-prod destroy-prerelease \
        status-prerelease status check-prerelease demo demo-release test test-engine fuzz emulator-install faketime-install \
        emulator-up emulator-down lint \
        bench check-iam-policy

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

# "There is a simple way to find out what code is running in any given environment."
status: build
	$(REHEARSAL) status

# The checklist's "check the server logs ... all migrations have run": the spec's checks, again.
check-prerelease: build
	$(REHEARSAL) check prerelease $(VAR_FLAGS)

demo:
	bash scripts/demo.sh

demo-release:
	bash scripts/demo_release.sh

# Everything: the IAM policy's lint, engine, CLI and emulator tests in one binary, unit tests, the
# scripts' self-check.
test: emulator-install faketime-install
	$(MAKE) --no-print-directory check-iam-policy
	cargo test --all-targets
	bash scripts/test_scripts.sh

# The SDK-free engine and CLI tests only: seconds, no emulator.
test-engine: faketime-install
	cargo test --no-default-features --lib --test it

# Coverage-guided fuzzing of everything rehearsal reads (rehearsal::fuzz::inputs) with libFuzzer,
# for FUZZ_TIME seconds on FUZZ_JOBS cores. New inputs go to fuzz/corpus/inputs, crashes to
# fuzz/artifacts/inputs. It needs nightly Rust and cargo-fuzz; `make test` runs a shorter,
# seeded fuzzer on stable Rust instead (fuzz/seeded.rs). The target is safe Rust, so it runs
# without a sanitizer unless FUZZ_SANITIZER=address.
FUZZ_TIME ?= 600
FUZZ_JOBS ?= 1
FUZZ_SANITIZER ?= none
FUZZ_TARGET_DIR ?= $(CARGO_TARGET_DIR)/fuzz

fuzz:
	@cargo +nightly --version >/dev/null 2>&1 || { echo "make fuzz needs nightly Rust: rustup toolchain install nightly" >&2; exit 1; }
	@cargo fuzz --version >/dev/null 2>&1 || { echo "make fuzz needs cargo-fuzz: cargo install cargo-fuzz" >&2; exit 1; }
	mkdir -p fuzz/corpus/inputs
	CARGO_TARGET_DIR=$(FUZZ_TARGET_DIR) cargo +nightly fuzz run --sanitizer $(FUZZ_SANITIZER) \
	    --jobs $(FUZZ_JOBS) inputs fuzz/corpus/inputs environments fuzz/seeds -- \
	    -max_total_time=$(FUZZ_TIME) -print_final_stats=1

lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings

# One table of figures measured in one run (benches/README.md says how to read them): the
# engine's scale and the speed of AWS on the fake, then AWS requests per command at N = 1, 20,
# 100 servers. The dev profile the tests already built: a release build would compile the AWS
# SDK once more. BENCH_OPERATIONS=1 adds requests by operation.
bench: emulator-install
	cargo test --bench engine -- --bench
	cargo test --bench requests -- --bench

emulator-install:
	bash scripts/emulator.sh install

# libfaketime: the change-window tests run the binary at a fixed date (tests/it/rules.rs).
faketime-install:
	bash scripts/faketime.sh install

# docs/iam-policy.json (and the administrator's docs/iam-import-policy.json) against the Service Authorization Reference as parliament (pinned in
# requirements-emulator.txt, installed by emulator-install) has it: unknown actions and condition
# keys, resources of the wrong type (scripts/check_iam_policy.py says what is not an error, and why).
check-iam-policy:
	$${EMULATOR_PYTHON:-python3} scripts/check_iam_policy.py
	$${EMULATOR_PYTHON:-python3} scripts/check_iam_policy.py docs/iam-import-policy.json
	$${EMULATOR_PYTHON:-python3} scripts/check_iam_policy.py docs/iam-team-policy.json

emulator-up:
	@bash scripts/emulator.sh up

emulator-down:
	@bash scripts/emulator.sh down
