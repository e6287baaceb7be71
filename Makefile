# The two commands of the README: `make demo` (ROOM=classroom|lab|studio) and `make test`. Everything else is a step of theirs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Debian packages the tests need (the demo needs none): the real broker of the integration
# tests, a C++ compiler for the reference firmware's host build, the browser of the page
# tests (driven by Playwright, never its own browser download) and ffmpeg for recordings;
# the AVR toolchain and Arduino core that build the sketches for an Uno, Nano and Mega, and
# simavr, on which the firmware tests run the Uno's image (firmware_bridge/firmware/README.md).
SYSTEM_PACKAGES := mosquitto g++ make chromium ffmpeg openssl \
	gcc-avr avr-libc arduino-core-avr simavr libsimavr-dev libsimavrparts1

.PHONY: demo test setup system-deps lint typecheck unit bench clean ralph avr

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,studio,demo]'
	touch $(STAMP)

setup: $(STAMP)

# Ralph, the xAPI LRS the pusher's tests deliver to, in a venv of its own (its pins would
# clash with ours). Its 'lrs' extra forgets 'requests', which its OIDC module imports.
RALPH_VENV  := .venv-ralph
RALPH_STAMP := $(RALPH_VENV)/.installed
RALPH_SPEC  := ralph-malph[cli,lrs]==5.1.0 requests

$(RALPH_STAMP):
	test -x $(RALPH_VENV)/bin/python || $(PYTHON) -m venv $(RALPH_VENV)
	$(RALPH_VENV)/bin/python -m pip install -q $(RALPH_SPEC)
	touch $(RALPH_STAMP)

ralph: $(RALPH_STAMP)

system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	  else echo "missing Debian packages:$$missing -- run: sudo apt-get install$$missing"; exit 1; fi; \
	fi

# make demo ROOM=lab | ROOM=studio: the STEM lab (port 8081) or the studio (port 8082); the
# classroom (8080) by default. The three can run side by side, each in its own terminal.
ROOM ?= classroom
demo: setup
	$(BIN)/classroom-hub demo --room $(ROOM)

lint: setup
	$(BIN)/ruff check .

typecheck: setup
	$(BIN)/mypy

unit: setup system-deps ralph
	$(BIN)/pytest

# The reference firmware for AVR boards and the simavr harness its tests run it on; prints
# every sketch's flash and static RAM per board and fails past the board's limits.
avr: system-deps
	$(MAKE) -s -C firmware_bridge/firmware -j2 avr sim

test: setup system-deps lint typecheck avr unit

bench: setup system-deps
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) $(RALPH_VENV) var .mypy_cache .ruff_cache .pytest_cache
