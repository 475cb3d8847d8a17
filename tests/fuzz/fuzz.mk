# fuzz.mk: builds the libFuzzer targets into build/fuzz/.
#
# Run from the project root:  make -f tests/fuzz/fuzz.mk [FUZZ_BUILD=dir]
# Every gateway/*.c except the two programs' main files is compiled with
# sanitizer coverage; every tests/fuzz/*_fuzz.c becomes build/fuzz/NAME_fuzz.
# New sources and new targets are picked up by the wildcards below.

FUZZ_CC    ?= clang
FUZZ_BUILD ?= build/fuzz
FUZZ_OBJ   := $(FUZZ_BUILD)/obj
PKGS       := libmicrohttpd libcurl yaml-0.1 jansson libjwt libcrypto zlib lmdb gumbo hiredis

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))

FUZZ_CFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
               -g -O1 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
               -Wall -Wextra -Werror -Igateway $(PKG_CFLAGS)
FUZZ_LDFLAGS := -fsanitize=fuzzer,address,undefined
FUZZ_LDLIBS  := $(PKG_LIBS) -lpthread

LIB_SRCS := $(filter-out gateway/main.c gateway/paywallctl.c,$(wildcard gateway/*.c))
LIB_OBJS := $(patsubst gateway/%.c,$(FUZZ_OBJ)/%.o,$(LIB_SRCS))
LIB      := $(FUZZ_BUILD)/libgateway.a

TARGET_SRCS := $(wildcard tests/fuzz/*_fuzz.c)
TARGET_OBJS := $(patsubst tests/fuzz/%.c,$(FUZZ_OBJ)/targets/%.o,$(TARGET_SRCS))
TARGETS     := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(TARGET_SRCS))

.PHONY: all clean
.DELETE_ON_ERROR:
# Target objects are made by a chain of pattern rules: keep them anyway.
.SECONDARY: $(TARGET_OBJS)

all: $(TARGETS)

$(FUZZ_OBJ)/%.o: gateway/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_OBJ)/targets/%.o: tests/fuzz/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

# An archive, so each target links only the modules it uses.
$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/%_fuzz: $(FUZZ_OBJ)/targets/%_fuzz.o $(LIB)
	$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $@ $^ $(FUZZ_LDLIBS)

clean:
	rm -rf $(FUZZ_BUILD)

-include $(wildcard $(FUZZ_OBJ)/*.d $(FUZZ_OBJ)/targets/*.d)
