# paywalld: build, test, fuzz, benchmark and demo.
#
#   make            release binaries in bin/
#   make test       sanitizer build, unit tests, integration tests, short fuzz runs
#   make demo       the gateway in front of the demo site, on loopback
#   make bench      wrk against the backend, an nginx proxy and paywalld
#   make fuzz       libFuzzer targets in build/fuzz/
#   make lint       banned-function check
#   make install    programs, man pages, examples and deploy files under DESTDIR/PREFIX

CC      ?= cc
PKGS    ?= libmicrohttpd libcurl yaml-0.1 jansson libjwt libcrypto zlib lmdb gumbo hiredis
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wformat=2
CSTD    := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
OPT     ?= -O2 -g
SAN     ?=
CFLAGS_ALL = $(CSTD) $(WARN) $(OPT) $(SAN) -Igateway $(PKG_CFLAGS)
LDLIBS_ALL = $(PKG_LIBS) -lpthread

# pkg-config is asked only once deps are known to be there.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)

BUILD   ?= build/release
BINDIR  ?= bin
OBJ     := $(BUILD)/obj

PROGRAMS := paywalld paywallctl
LIB_SRCS := $(filter-out gateway/main.c gateway/paywallctl.c,$(wildcard gateway/*.c))
LIB_OBJS := $(patsubst gateway/%.c,$(OBJ)/%.o,$(LIB_SRCS))
UNIT_SRCS := $(wildcard tests/unit/*_test.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS))

.PHONY: all deps interop-deps programs unit test test-unit test-integration test-fuzz fuzz bench \
        demo lint clean install

all: deps
	@$(MAKE) --no-print-directory programs

deps:
	@deploy/check-deps.sh

programs: $(BINDIR)/paywalld $(BINDIR)/paywallctl $(BINDIR)/demo-backend

$(OBJ)/%.o: gateway/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(BUILD)/libgateway.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BINDIR)/paywalld: $(OBJ)/main.o $(BUILD)/libgateway.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(BINDIR)/paywallctl: $(OBJ)/paywallctl.o $(BUILD)/libgateway.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(BINDIR)/demo-backend: deploy/demo/backend.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LDLIBS_ALL)

$(BUILD)/unit/%: tests/unit/%.c $(BUILD)/libgateway.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -Wno-missing-prototypes -o $@ $^ $(CHECK_LIBS) $(LDLIBS_ALL)

unit: $(UNIT_BINS)

-include $(wildcard $(OBJ)/*.d)

# ---- tests: everything runs against the sanitizer build ----
ASAN_MAKE = $(MAKE) --no-print-directory BUILD=build/asan BINDIR=build/asan/bin \
            SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
            OPT="-O1 -g"

test: deps interop-deps
	@$(ASAN_MAKE) programs unit
	@$(MAKE) --no-print-directory test-unit test-integration test-fuzz

# The independent JOSE implementation the interoperability tests mint with.
interop-deps:
	@test -d tests/interop/node_modules/jose -a -d tests/interop/node_modules/playwright-core || \
		(cd tests/interop && npm ci --silent --no-audit --no-fund)

test-unit:
	@PAYWALLD_REQUIRE_JOSE=1 tests/unit/run.sh build/asan/unit

test-integration:
	@tests/integration/run.sh build/asan/bin

test-fuzz:
	@$(MAKE) --no-print-directory fuzz
	@tests/fuzz/run.sh build/fuzz $${FUZZ_SECONDS:-10}

fuzz: deps
	@$(MAKE) --no-print-directory -f tests/fuzz/fuzz.mk

$(BUILD)/token_bench: tests/bench/token_bench.c $(BUILD)/libgateway.a
	$(CC) $(CFLAGS_ALL) -Wno-missing-prototypes -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/teaser_bench: tests/bench/teaser_bench.c $(BUILD)/libgateway.a
	$(CC) $(CFLAGS_ALL) -Wno-missing-prototypes -o $@ $^ $(LDLIBS_ALL)

bench: all
	@$(MAKE) --no-print-directory $(BUILD)/token_bench $(BUILD)/teaser_bench
	tests/bench/run.sh --gateway bin/paywalld $(BENCH_ARGS)
	tests/bench/tokens.sh $(BUILD)/token_bench
	$(BUILD)/teaser_bench deploy/demo/site/article/harbour-bridge-reopens.html 2
	tests/bench/teasers.sh
	tests/bench/meter.sh

demo: all
	deploy/demo/run.sh

lint:
	@! grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol)\s*\(' \
		gateway/*.c gateway/*.h deploy/demo/*.c tests/unit/*.c tests/fuzz/*.c \
		|| (echo "lint: banned function (see ../shared/STYLE.md point 9)"; exit 1)
	@echo "lint: ok"

clean:
	rm -rf build bin

# ---- install: PREFIX (/usr/local) for the paths, DESTDIR to stage a package ----
# Nothing goes to /etc or /lib: deploy/README.md says where to copy the
# systemd unit, logrotate file and nginx example from share/paywalld/deploy.
# The unit names the binaries, so its installed copy follows PREFIX.
PREFIX  ?= /usr/local
DESTDIR ?=
INSTALL_SHARE = $(DESTDIR)$(PREFIX)/share/paywalld

install: $(BINDIR)/paywalld $(BINDIR)/paywallctl
	install -D -m 0755 $(BINDIR)/paywalld $(DESTDIR)$(PREFIX)/sbin/paywalld
	install -D -m 0755 $(BINDIR)/paywallctl $(DESTDIR)$(PREFIX)/bin/paywallctl
	install -D -m 0644 -t $(INSTALL_SHARE)/policies \
		policies/paywall.yaml policies/promotions.yaml policies/crawlers.json
	install -D -m 0644 -t $(INSTALL_SHARE)/templates policies/templates/*
	install -D -m 0644 deploy/man/paywalld.8 $(DESTDIR)$(PREFIX)/share/man/man8/paywalld.8
	install -D -m 0644 deploy/man/paywallctl.1 $(DESTDIR)$(PREFIX)/share/man/man1/paywallctl.1
	install -D -m 0644 -t $(INSTALL_SHARE)/deploy/systemd deploy/systemd/paywalld.sysusers
	install -D -m 0644 -t $(INSTALL_SHARE)/deploy/logrotate deploy/logrotate/paywalld
	install -D -m 0644 -t $(INSTALL_SHARE)/deploy/nginx deploy/nginx/paywalld.conf
	install -D -m 0644 deploy/README.md $(INSTALL_SHARE)/deploy/README.md
	sed 's|/usr/local/|$(PREFIX)/|g' deploy/systemd/paywalld.service \
		>$(INSTALL_SHARE)/deploy/systemd/paywalld.service
	chmod 0644 $(INSTALL_SHARE)/deploy/systemd/paywalld.service
