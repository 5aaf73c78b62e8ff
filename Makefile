# EdgeAgent — the two commands a newcomer needs are `make demo` and `make test`.
# Everything here installs what it needs (Debian/Ubuntu, apt) before building.

SWIFT        ?= swift
CONFIG       ?= agent.conf
PREFIX       ?= /usr/local
# Debian packages the build and the tests need (pkg-config names in Package.swift).
APT_BUILD    := libmodbus-dev libsqlite3-dev pkg-config
APT_TEST     := $(APT_BUILD) socat sqlite3
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test build release deps-build deps-test clean help

help:
	@echo "make demo   install what is missing, build (release), run the demo on the built-in simulator"
	@echo "make test   install what is missing, run the test suite (swift test)"

# Install only the packages that are missing; apt-get update only when something is.
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
endef

deps-build:
	$(call apt_install,$(APT_BUILD))

deps-test:
	$(call apt_install,$(APT_TEST))

build: deps-build
	$(SWIFT) build

release: deps-build
	$(SWIFT) build -c release

demo: release
	.build/release/edge-agent check-config --config $(CONFIG)

test: deps-test
	$(SWIFT) test

clean:
	rm -rf .build
