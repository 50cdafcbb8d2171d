# woof — every target delegates to cargo; none has file prerequisites.
#
#   make demo        build release and run examples/demo.sh in a temporary namespace
#   make test        install what is missing, then run every test (what .ci/run runs)
#   make fuzz        fuzz every decoder for a bounded time (FUZZ_TIME=60 s each)
#   make soak        DURATION=10m: everything at once under random SIGKILLs
#   make scale       the load tests: 10 000 connections, 5 000 parked follows, …
#   make install     PREFIX=/usr/local DESTDIR= (staged installs)
#
# See README.md.

CARGO   ?= cargo
PREFIX  ?= /usr/local
DESTDIR ?=

# The binaries `make install` copies from $(RELEASE).
BINS := woof-create woof-put woof-get woof-tail woof-platform woof-shepherd woof-ls woof-forward woof-proxy

# Debian packages a fresh Debian 12 machine lacks and the build needs, checked
# with `dpkg -s`: libzmq (with CURVE, via libsodium) for the interop tests and the
# benchmarks' baselines. woof and woof-proxy speak ZMTP themselves and link no
# libzmq. groff
# renders the man pages in a test (each must fit 80 columns without a warning).
APT_PACKAGES := libzmq3-dev pkg-config groff-base iproute2 nftables \
	mosquitto mosquitto-clients redis-server redis-tools nats-server openssl

# Release binaries are linked statically on Linux (glibc's crt-static): a one-shot
# woof-put from cron then starts about as fast as /bin/true, where a dynamically
# linked Rust binary costs ~1.5x (see make bench). x86-64 builds assume x86-64-v2
# (SSE4.2, 2009+) so CRC-32C needs no run-time CPU detection (cpuid is slow in VMs).
# An explicit --target keeps these flags off proc-macros and build scripts.
HOST     := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
HOST_ENV := $(shell echo '$(HOST)' | tr 'a-z-' 'A-Z_')
RUSTFLAGS_STATIC := $(if $(findstring linux,$(HOST)),-C target-feature=+crt-static)
RUSTFLAGS_CPU    := $(if $(findstring x86_64,$(HOST)),-C target-cpu=x86-64-v2)
RELEASE  := target/$(HOST)/release

BINDIR   = $(DESTDIR)$(PREFIX)/bin
MANDIR   = $(DESTDIR)$(PREFIX)/share/man
BASHDIR  = $(DESTDIR)$(PREFIX)/share/bash-completion/completions
ZSHDIR   = $(DESTDIR)$(PREFIX)/share/zsh/site-functions
FISHDIR  = $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
LIBDIR   = $(DESTDIR)$(PREFIX)/lib
INCDIR   = $(DESTDIR)$(PREFIX)/include
SHAREDIR = $(DESTDIR)$(PREFIX)/share/woof
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
# libwoof (CSPOT's C API): the libraries, the header, pkg-config, woof-cc and the
# handler main it compiles, woof_c(3).
C_FILES = $(LIBDIR)/libwoofc.a $(LIBDIR)/libwoofc.so $(INCDIR)/woofc.h \
	$(LIBDIR)/pkgconfig/woof.pc $(BINDIR)/woof-cc $(SHAREDIR)/handler-main.c \
	$(MANDIR)/man3/woof_c.3

# sudo only when not already root.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build test lint man completions install uninstall bench demo ci clean fuzz fuzz-seeds soak scale

all: build

deps:
	@command -v $(CARGO) >/dev/null 2>&1 || { \
	  echo "make: '$(CARGO)' not found; install the Rust toolchain (https://rustup.rs)" >&2; exit 1; }
	@for c in fmt clippy; do \
	  $(CARGO) $$c --version >/dev/null 2>&1 && continue; \
	  if command -v rustup >/dev/null 2>&1; then \
	    comp=$$c; [ $$c = fmt ] && comp=rustfmt; \
	    echo "+ rustup component add $$comp"; rustup component add $$comp || exit 1; \
	  else \
	    echo "make: 'cargo $$c' not found and no rustup to add it" >&2; exit 1; \
	  fi; \
	done
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg -s $$p 2>/dev/null | grep -q '^Status: install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "+ $(SUDO) apt-get update && $(SUDO) apt-get install -y$$missing"; \
	  $(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	fi

# One compile of the workspace for the host (one feature set, one set of flags):
# the libraries first, then each tool and woof-proxy is linked statically on its
# own (`cargo rustc` passes +crt-static to that final link only).
TOOLS := $(filter-out woof-proxy,$(BINS))
build: deps
	CARGO_TARGET_$(HOST_ENV)_RUSTFLAGS="$(strip $(RUSTFLAGS_CPU))" \
	  $(CARGO) build --release --target $(HOST) -p woof-proxy -p woof-tools -p libwoof --lib
	for b in $(TOOLS); do \
	  CARGO_TARGET_$(HOST_ENV)_RUSTFLAGS="$(strip $(RUSTFLAGS_CPU))" \
	    $(CARGO) rustc --release --target $(HOST) -p woof-tools --bin $$b -- $(RUSTFLAGS_STATIC) || exit 1; \
	done
	CARGO_TARGET_$(HOST_ENV)_RUSTFLAGS="$(strip $(RUSTFLAGS_CPU))" \
	  $(CARGO) rustc --release --target $(HOST) -p woof-proxy --bin woof-proxy -- $(RUSTFLAGS_STATIC)

# Unit, integration and doc tests of every workspace member. Benchmarks are
# not run here (`make bench`).
test: deps
	$(CARGO) build -p woof-proxy -p libwoof
	$(CARGO) test --workspace --no-fail-fast
	$(CARGO) test --manifest-path fuzz/Cargo.toml --target-dir target

lint: deps
	$(CARGO) fmt --all --check
	$(CARGO) fmt --manifest-path fuzz/Cargo.toml --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy --manifest-path fuzz/Cargo.toml --target-dir target --all-targets -- -D warnings

# Coverage-guided fuzzing of every decoder that reads bytes from a file or the
# network (fuzz/run): FUZZ_TIME seconds per target (60), or FUZZ_RUNS inputs.
# The committed corpus is replayed by `make test`. fuzz-seeds rewrites the seeds.
fuzz: deps
	fuzz/run
fuzz-seeds:
	cd fuzz && $(CARGO) run --target-dir ../target --example seeds

# Writers, triggered and remote puts and followers under random SIGKILLs of every
# daemon and writer for DURATION, then a full consistency check (tests/integration/soak.rs);
# prints one summary line. Not part of `make test`.
DURATION ?= 1m
soak: deps
	$(CARGO) build -p woof-proxy -p libwoof
	DURATION=$(DURATION) $(CARGO) test --test integration -- --ignored --nocapture soak::

# The load tests (tests/integration/scale.rs): 5 000 parked remote follows and
# 5 000 idle connections on one woof-proxy, follows past --followers, follows of
# 3 000 distinct woofs, one-shot clients, woof-forward --all over 10 000 woofs;
# one summary line each, with the
# limits they ran under. Not part of `make test` (they need about 10 400
# descriptors: ulimit -Hn).
scale: deps
	$(CARGO) build -p woof-proxy -p libwoof
	$(CARGO) test --test integration -- --ignored --nocapture --test-threads 1 scale::

# Both regenerate man/woof-*.1 and completions/ from the clap definitions; without
# WOOF_REGENERATE the same test fails when the checked-in files drift.
man completions:
	WOOF_REGENERATE=1 $(CARGO) test --test integration generated::
	WOOF_REGENERATE=1 $(CARGO) test -p woof-proxy --test generated

# Builds first when cargo is on PATH (it may not be under sudo) and BUILD is not
# 0, then installs the binaries and whatever man pages and completions the
# checkout holds. `make install BUILD=0 RELEASE=DIR` installs binaries already
# built in DIR (tests/install.rs does this with the test build).
BUILD ?= 1
install:
	@if [ "$(BUILD)" != 0 ] && command -v $(CARGO) >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory build || exit 1; fi
	@for b in $(BINS) libwoofc.a libwoofc.so; do \
	  [ -e $(RELEASE)/$$b ] || { \
	    echo "make: $(RELEASE)/$$b is missing; run 'make build' first" >&2; exit 1; }; \
	done
	@set -e; \
	for b in $(BINS); do \
	  echo "install $(BINDIR)/$$b"; install -Dm755 $(RELEASE)/$$b "$(BINDIR)/$$b"; \
	done; \
	for f in man/*.1; do \
	  [ -e "$$f" ] || continue; \
	  echo "install $(MANDIR)/man1/$${f#man/}"; install -Dm644 "$$f" "$(MANDIR)/man1/$${f#man/}"; \
	done; \
	for s in 5 7; do \
	  [ -e man/woof.$$s ] || continue; \
	  echo "install $(MANDIR)/man$$s/woof.$$s"; install -Dm644 man/woof.$$s "$(MANDIR)/man$$s/woof.$$s"; \
	done; \
	for f in completions/woof-*.bash; do \
	  [ -e "$$f" ] || continue; n=$${f#completions/}; n=$${n%.bash}; \
	  echo "install $(BASHDIR)/$$n"; install -Dm644 "$$f" "$(BASHDIR)/$$n"; \
	done; \
	for f in completions/_woof-*; do \
	  [ -e "$$f" ] || continue; n=$${f#completions/}; \
	  echo "install $(ZSHDIR)/$$n"; install -Dm644 "$$f" "$(ZSHDIR)/$$n"; \
	done; \
	for f in completions/woof-*.fish; do \
	  [ -e "$$f" ] || continue; n=$${f#completions/}; \
	  echo "install $(FISHDIR)/$$n"; install -Dm644 "$$f" "$(FISHDIR)/$$n"; \
	done; \
	echo "install libwoof: $(C_FILES)"; \
	install -Dm644 $(RELEASE)/libwoofc.a "$(LIBDIR)/libwoofc.a"; \
	install -Dm755 $(RELEASE)/libwoofc.so "$(LIBDIR)/libwoofc.so"; \
	install -Dm644 libwoof/include/woofc.h "$(INCDIR)/woofc.h"; \
	mkdir -p "$(LIBDIR)/pkgconfig"; \
	sed -e 's|@VERSION@|$(VERSION)|' libwoof/woof.pc.in \
	  > "$(LIBDIR)/pkgconfig/woof.pc"; \
	install -Dm755 libwoof/woof-cc "$(BINDIR)/woof-cc"; \
	install -Dm644 libwoof/c/handler-main.c "$(SHAREDIR)/handler-main.c"; \
	install -Dm644 man/woof_c.3 "$(MANDIR)/man3/woof_c.3"

# Removes exactly the files `make install` puts there (directories stay).
uninstall:
	@for b in $(BINS); do \
	  echo "rm -f $(BINDIR)/$$b"; rm -f "$(BINDIR)/$$b"; \
	done; \
	for f in man/*.1; do \
	  [ -e "$$f" ] || continue; \
	  echo "rm -f $(MANDIR)/man1/$${f#man/}"; rm -f "$(MANDIR)/man1/$${f#man/}"; \
	done; \
	for s in 5 7; do \
	  echo "rm -f $(MANDIR)/man$$s/woof.$$s"; rm -f "$(MANDIR)/man$$s/woof.$$s"; \
	done; \
	for f in completions/woof-*.bash; do \
	  [ -e "$$f" ] || continue; n=$${f#completions/}; n=$${n%.bash}; \
	  echo "rm -f $(BASHDIR)/$$n"; rm -f "$(BASHDIR)/$$n"; \
	done; \
	for f in completions/_woof-*; do \
	  [ -e "$$f" ] || continue; n=$${f#completions/}; \
	  echo "rm -f $(ZSHDIR)/$$n"; rm -f "$(ZSHDIR)/$$n"; \
	done; \
	for f in completions/woof-*.fish; do \
	  [ -e "$$f" ] || continue; n=$${f#completions/}; \
	  echo "rm -f $(FISHDIR)/$$n"; rm -f "$(FISHDIR)/$$n"; \
	done; \
	for f in $(C_FILES); do echo "rm -f $$f"; rm -f "$$f"; done

# Prints the table; the bench also writes it to target/bench/latest.md.
bench: deps build
	WOOF_BIN_DIR="$(CURDIR)/$(RELEASE)" $(CARGO) bench --bench bench

demo: build
	PATH="$(CURDIR)/$(RELEASE):$$PATH" bash examples/demo.sh

ci: deps lint test

clean:
	$(CARGO) clean
