# EdgeAgent — the two commands a newcomer needs are `make demo` and `make test`.
# Everything here installs what it needs (Debian/Ubuntu, apt) before building.

SWIFT        ?= swift
CONFIG       ?= agent.conf
PREFIX       ?= /usr/local
# Debian packages the build and the tests need (pkg-config names in Package.swift).
APT_BUILD    := libmodbus-dev libsqlite3-dev pkg-config
APT_TEST     := $(APT_BUILD) socat sqlite3
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test build release release-static deps-build deps-test clean help install uninstall

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

# Release build without Foundation and ICU autolinked into the agent (why: scripts/build-release.sh).
release: deps-build
	SWIFT=$(SWIFT) scripts/build-release.sh

# The static agent, Swift runtime linked in (only libc, libstdc++, libm, libsqlite3, libmodbus
# loaded at run time): .build-static/release/edge-agent. Linker options: scripts/build-static.sh.
release-static: deps-build
	SWIFT=$(SWIFT) scripts/build-static.sh

# The main job: simulator + agent + few-shot calibration + injected faults, about two minutes.
demo: release
	.build/release/edge-agent check-config --config $(CONFIG) > /dev/null
	CONFIG=$(CONFIG) scripts/demo.sh

test: deps-test
	$(SWIFT) test

# Install the release binary, the systemd unit, and agent.conf (an existing config is kept).
BINDIR       := $(DESTDIR)$(PREFIX)/bin
UNITDIR      := $(DESTDIR)/etc/systemd/system
CONFDIR      := $(DESTDIR)/etc/edge-agent
DOCDIR       := $(DESTDIR)$(PREFIX)/share/doc/edge-agent

# The static agent: no Swift toolchain needed at run time, and the smaller resident set
# (BENCHMARKS.md). Built here, so it fits this machine's glibc.
install: release-static
	install -d $(BINDIR) $(UNITDIR) $(CONFDIR) $(DOCDIR) $(DOCDIR)/docs
	install -m 0755 .build-static/release/edge-agent $(BINDIR)/edge-agent
	sed 's|/usr/local/bin/edge-agent|$(PREFIX)/bin/edge-agent|' systemd/edge-agent.service > $(UNITDIR)/edge-agent.service
	chmod 0644 $(UNITDIR)/edge-agent.service
	@if [ -e $(CONFDIR)/agent.conf ]; then \
		echo "keeping existing $(CONFDIR)/agent.conf (new example: $(CONFDIR)/agent.conf.example)"; \
		install -m 0644 agent.conf $(CONFDIR)/agent.conf.example; \
	else \
		sed -e 's|^data_dir = .*|data_dir = "/var/lib/edge-agent"|' \
		    -e 's|^alert_log = .*|alert_log = "/var/log/edge-agent/alerts.jsonl"|' \
		    -e 's|^summary_dir = .*|summary_dir = "/var/lib/edge-agent/summaries"|' agent.conf > $(CONFDIR)/agent.conf; \
		chmod 0644 $(CONFDIR)/agent.conf; \
	fi
	install -m 0644 README.md $(DOCDIR)/README.md
	install -m 0644 docs/*.md docs/*.png $(DOCDIR)/docs/
	@if [ -z "$(DESTDIR)" ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
	@echo "installed; start with: systemctl enable --now edge-agent"

# Removes what install put in place, except /etc/edge-agent/agent.conf (your edits) and the data.
uninstall:
	@if [ -z "$(DESTDIR)" ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then systemctl disable --now edge-agent 2>/dev/null || true; fi
	rm -f $(BINDIR)/edge-agent $(UNITDIR)/edge-agent.service $(CONFDIR)/agent.conf.example
	rm -rf $(DOCDIR)
	@echo "kept $(CONFDIR)/agent.conf and /var/lib/edge-agent; remove them by hand if no longer needed"

clean:
	rm -rf .build

# ---------------------------------------------------------------------------------------------
# Summaries (issue 9): render the sample summary report in headless Chromium and check the
# screenshots (phone 412 px and desktop 1280 px wide) are not blank. Installs chromium if missing.
REPORT_DIR   ?= .build/report-screenshot

.PHONY: report-screenshot

report-screenshot: deps-build
	$(call apt_install,chromium python3)
	$(SWIFT) build --product edge-agent
	rm -rf $(REPORT_DIR) && mkdir -p $(REPORT_DIR)
	.build/debug/edge-agent summarize --sample --output $(REPORT_DIR)
	for w in 412 1280; do \
		chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir=$(REPORT_DIR)/profile \
			--screenshot=$(REPORT_DIR)/report-$$w.png --window-size=$$w,2400 \
			"file://$$(realpath $$(ls $(REPORT_DIR)/*.html | head -1))" 2>/dev/null || exit 1; \
		python3 scripts/png-colors.py $(REPORT_DIR)/report-$$w.png --min-colors 200 || exit 1; \
	done
	@echo "screenshots: $(REPORT_DIR)/report-412.png $(REPORT_DIR)/report-1280.png"

# ---------------------------------------------------------------------------------------
# Benchmarks (issue 10; owned by the benchmark work, see bench/run.sh and BENCHMARKS.md).
# `make bench` runs everything in release mode (about 35 minutes: a 10-minute RSS run, a
# static build) and rewrites BENCHMARKS.md; `make bench-quick` runs short versions in under
# 2 minutes once built and writes bench-out/BENCHMARKS-quick.md. Nothing here is asserted.
.PHONY: bench bench-quick detection-check

bench: deps-test
	SWIFT=$(SWIFT) bench/run.sh

bench-quick: deps-test
	SWIFT=$(SWIFT) bench/run.sh --quick

# The detection figures README and docs quote (simulator exports of seeds 7 and 8, SKAB and the
# few-shot table when ../shared/data is there), re-measured and compared with
# bench/detection-baseline.txt: fails when a total got worse. About a minute once built.
detection-check: deps-build
	SWIFT=$(SWIFT) bench/detection.sh

# ---------------------------------------------------------------------------------------------
# Reliability (issue 11): bad input, long runs, sanitizers. See README "Reliability".
FUZZ_COUNT   ?= 10000
FUZZ_SEED    ?= 1
SOAK_MINUTES ?= 60

.PHONY: fuzz soak sanitize

# agent.conf mutation fuzzing through the loader: prints mutants, accepted, rejected, crashes.
fuzz: deps-build
	SWIFT=$(SWIFT) scripts/build-release.sh --product edge-bench
	.build/release/edge-bench fuzz-config --count $(FUZZ_COUNT) --seed $(FUZZ_SEED) --config $(CONFIG)

# The whole agent against the simulator at ~1,000 readings/s with faults every few minutes.
soak: deps-test
	SWIFT=$(SWIFT) scripts/build-release.sh --product edge-agent
	SOAK_MINUTES=$(SOAK_MINUTES) bench/soak.sh

# The test suite under ThreadSanitizer, then AddressSanitizer (separate build folders; about
# 4 minutes of tests each on 2 cores, plus about 6 minutes of building each the first time).
# Reports of every process go to .build-sanitize/.
sanitize: deps-test
	SWIFT=$(SWIFT) scripts/sanitize.sh

# Reliability (issue 11, faults). `make test` runs every fault test with small counts (5 kills);
# `make killtest` SIGKILLs `edge-agent run` $(KILLS) times against the simulator and prints the
# counts; `make faults` runs all fault tests (devices, RTU garbage, kills, full disk, clock
# jumps) and prints what each measured.
KILLS        ?= 50

.PHONY: killtest faults

killtest: deps-test
	$(SWIFT) build --build-tests
	EDGE_KILLTEST_ITERATIONS=$(KILLS) $(SWIFT) test --skip-build --filter FaultToleranceTests.KillTests

faults: deps-test
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --filter FaultToleranceTests
