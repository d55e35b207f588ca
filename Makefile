# maskkv — build, test, run. `make` builds build/maskkv; `make test` runs every test.
CC      ?= cc
BUILD   ?= build
OPT     ?= -O2
SAN     ?=
CFLAGS  ?=
CFLAGS  += -std=c11 $(OPT) -g -Wall -Wextra -fopenmp -D_GNU_SOURCE -Iinclude -Isrc $(SAN)
LDLIBS  += -lcjson -lpcre2-8 -lm -fopenmp $(SAN)

LIB_SRC  := $(sort $(wildcard src/*/*.c))
CLI_SRC  := $(sort $(wildcard cli/*.c))
TEST_SRC := $(sort $(wildcard tests/unit/*.c))
BENCH_SRC:= $(sort $(wildcard bench/*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)

LIB      := $(BUILD)/libmaskkv.a
BIN      := $(BUILD)/maskkv
TEST_BIN := $(BUILD)/test_runner
BENCH_BIN:= $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

DEFAULT_MODEL ?= $(firstword $(wildcard models/*.gguf) tests/models/llada-tiny-f32.gguf)
RUN_PROMPT    ?= What is the secret code of Alice? The secret code of Alice is 4417.

.PHONY: all test test-unit test-cli test-python test-asan run bench clean fuzz

all: $(BIN) $(TEST_BIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(LDLIBS)

$(TEST_BIN): $(TEST_OBJ) $(LIB)
	$(CC) $(CFLAGS) -o $@ $(TEST_OBJ) $(LIB) $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# Unit tests (C), then the command-line tests (exit codes and messages), then
# the checks that need PyPI packages (skipped, and reported as skipped, when absent).
test: test-unit test-cli test-python

test-unit: $(TEST_BIN)
	./$(TEST_BIN)

test-cli: $(BIN)
	MASKKV=./$(BIN) tests/cli/run_cli_tests.sh

test-python: $(BIN)
	MASKKV=./$(BIN) python3 tests/python/run_python_tests.py

test-asan:
	$(MAKE) BUILD=build-asan OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" test-unit test-cli

run: $(BIN)
	./$(BIN) generate -m $(DEFAULT_MODEL) --chat -p "$(RUN_PROMPT)" --gen-len 32 --block-len 32 --steps 32

bench: $(BENCH_BIN) $(BIN)
	@echo "see BENCHMARKS.md for the benchmark commands"

clean:
	rm -rf build build-asan

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d)
