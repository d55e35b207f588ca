# maskkv — build, test, run. `make` builds build/maskkv; `make test` runs every test.
CC      ?= cc
BUILD   ?= build
OPT     ?= -O2
SAN     ?=
CFLAGS  ?=
# libmicrohttpd (the HTTP server of `maskkv serve`) through pkg-config; the
# fallback flags serve before tools/ensure_deps.sh has installed it
MHD_CFLAGS := $(shell pkg-config --cflags libmicrohttpd 2>/dev/null)
MHD_LIBS   := $(or $(shell pkg-config --libs libmicrohttpd 2>/dev/null),-lmicrohttpd)
CFLAGS  += -std=c11 $(OPT) -g -Wall -Wextra -fopenmp -D_GNU_SOURCE -Iinclude $(SAN)
LDLIBS  += -lcjson -lpcre2-8 $(MHD_LIBS) -lpthread -lm -fopenmp $(SAN)
# The library is position-independent (it is also libmaskkv.so) and exports
# only what maskkv.h marks MKV_API; the CLI sees maskkv.h and cli/ only.
LIB_CFLAGS := -Isrc -fPIC -fvisibility=hidden $(MHD_CFLAGS)
CLI_CFLAGS := -Icli
PREFIX  ?= /usr/local

LIB_SRC  := $(sort $(wildcard src/*/*.c))
CLI_SRC  := $(sort $(wildcard cli/*.c))
TEST_SRC := $(sort $(wildcard tests/unit/*.c))
BENCH_SRC:= $(sort $(wildcard bench/*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)

LIB      := $(BUILD)/libmaskkv.a
SOLIB    := $(BUILD)/libmaskkv.so
SONAME   := libmaskkv.so.0
BIN      := $(BUILD)/maskkv
TEST_BIN := $(BUILD)/test_runner
BENCH_BIN:= $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
# test helper of the Python checks (tests/tools/dequant_gguf.c)
DEQUANT_BIN := $(BUILD)/dequant_gguf

DEFAULT_MODEL ?= models/llada-tiny-retrieval.gguf
RUN_PROMPT    ?= models/example-niah.txt
# a bare question (the shipped model answers "The secret code of Edith is 545", models/MODEL.md);
# RUN_PREFIX="The secret code of Edith is" asks with an answer prefix instead (the recipe adds the space)
RUN_PREFIX    ?=

EVAL_ARGS ?= --task niah,recall,two --lengths 256,512,1024,2048 --budgets 16,32,64,128,256 --methods full,maskkv,snapkv,pyramidkv,squeeze,adakv,streaming --samples 20

.PHONY: eval all test test-unit test-cli test-python test-python-install test-api test-train test-asan run bench bench-report clean fuzz venv install

all: $(BIN) $(SOLIB) $(TEST_BIN) $(DEQUANT_BIN)

# Set-up: a fresh machine gets its build dependencies from apt-get (once; the
# stamp remembers), and the Python checks their packages in a project-local
# virtual environment, so that `make run` and `make test` need nothing else.
DEPS_STAMP := $(BUILD)/.deps-ok
VENV       ?= .venv
PYTHON     := $(VENV)/bin/python

$(DEPS_STAMP): tools/ensure_deps.sh
	@sh tools/ensure_deps.sh build
	@mkdir -p $(dir $@) && touch $@

$(VENV)/.ok: tests/requirements.txt tools/ensure_deps.sh
	@sh tools/ensure_deps.sh python
	@echo "maskkv: Python packages for the checks -> $(VENV) (tests/requirements.txt)"
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --disable-pip-version-check -r tests/requirements.txt
	@touch $@

venv: $(VENV)/.ok

$(LIB_OBJ) $(CLI_OBJ) $(TEST_OBJ): | $(DEPS_STAMP)

$(BUILD)/obj/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LIB_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/cli/%.o: cli/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CLI_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(SOLIB): $(LIB_OBJ)
	$(CC) $(CFLAGS) -shared -Wl,-soname,$(SONAME) -Wl,--no-undefined -o $@ $(LIB_OBJ) $(LDLIBS)

$(BUILD)/maskkv.pc: tools/maskkv.pc.in Makefile
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|'"$$(sed -n 's/^#define MKV_VERSION_STRING "\(.*\)"/\1/p' include/maskkv.h)"'|g' $< > $@

# make install PREFIX=DIR: the library (libmaskkv.so.0 + the libmaskkv.so
# link, libmaskkv.a), maskkv.h, maskkv.pc and the maskkv command.
install: $(BIN) $(SOLIB) $(LIB)
	@rm -f $(BUILD)/maskkv.pc && $(MAKE) --no-print-directory $(BUILD)/maskkv.pc PREFIX=$(PREFIX)
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(SOLIB) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libmaskkv.so
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/libmaskkv.a
	install -m 644 include/maskkv.h $(DESTDIR)$(PREFIX)/include/maskkv.h
	install -m 644 $(BUILD)/maskkv.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/maskkv.pc
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/maskkv

# libedit: `maskkv chat`'s line editing and history (cli/line_input.c)
$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(LDLIBS) -ledit

$(TEST_BIN): $(TEST_OBJ) $(LIB)
	$(CC) $(CFLAGS) -o $@ $(TEST_OBJ) $(LIB) $(LDLIBS)

$(DEQUANT_BIN): tests/tools/dequant_gguf.c $(LIB)
	$(CC) $(CFLAGS) -Isrc -o $@ $< $(LIB) $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc -o $@ $< $(LIB) $(LDLIBS)

# Unit tests (C), then the command-line tests (exit codes and messages), then
# the checks that need PyPI packages (skipped, and reported as skipped, when absent).
test: test-unit test-api test-cli test-python

test-unit: $(TEST_BIN)
	./$(TEST_BIN)

# The public/private split: no program outside src/ includes a src/ header,
# libmaskkv.so exports only mkv_* symbols, and examples/simple.c builds with
# pkg-config against a `make install` into a temporary prefix and runs.
test-api: $(BIN) $(SOLIB) $(LIB)
	sh tests/api/check_includes.sh
	sh tests/api/check_exports.sh $(SOLIB)
	sh tests/api/run_example.sh "$(MAKE)" $(DEFAULT_MODEL)

test-cli: $(BIN) $(VENV)/.ok
	PATH="$(abspath $(VENV))/bin:$$PATH" MASKKV=./$(BIN) tests/cli/run_cli_tests.sh

# check_*.py scripts, then pytest over tests/python/test_*.py: the Python
# package (python/) against build/libmaskkv.so, and `pip install ./python`
# into a new virtual environment (test_package_install.py).
test-python: $(BIN) $(SOLIB) $(DEQUANT_BIN) $(VENV)/.ok
	MASKKV=./$(BIN) MKV_DEQUANT=./$(DEQUANT_BIN) MASKKV_LIB=$(abspath $(SOLIB)) $(PYTHON) tests/python/run_python_tests.py

# Only the installation of the Python package (pip install ./python into a new venv).
test-python-install: $(BIN) $(SOLIB) $(VENV)/.ok
	MASKKV=./$(BIN) MASKKV_LIB=$(abspath $(SOLIB)) $(PYTHON) -m pytest -q -rs -p no:cacheprovider tests/python/test_package_install.py

# The training tools' own checks (tools/train/): they need PyPI torch, which
# is not part of `make test` (the CPU wheels are not reachable everywhere).
test-train: $(BIN)
	MASKKV=./$(BIN) python3 tools/train/check_train_tools.py

test-asan:
	$(MAKE) BUILD=build-asan OPT=-O1 SAN="-fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer -fno-sanitize-recover=undefined,float-cast-overflow" test-unit test-cli

# a fresh clone builds on every core (the run itself is the program's own threads)
JOBS ?= $(shell nproc 2>/dev/null || echo 1)
run:
	@$(MAKE) --no-print-directory -j$(JOBS) $(BIN)
	@echo "Document: $(RUN_PROMPT), $$(wc -w < $(RUN_PROMPT)) words of filler that hide one secret code"
	@echo "Question: $$(tail -n 1 $(RUN_PROMPT))"
	@answer=$$(./$(BIN) generate -m $(DEFAULT_MODEL) --chat -f $(RUN_PROMPT) $(if $(RUN_PREFIX),--answer-prefix "$(RUN_PREFIX) ") \
	    --gen-len 16 --block-len 16 --steps 16 --cache maskkv --budget 64 --stats 2>$(BUILD)/run.stderr) \
	    || { cat $(BUILD)/run.stderr >&2; exit 1; }; echo "Answer:   $$answer"; cat $(BUILD)/run.stderr
	@echo "(MaskKV kept 64 prompt K/V pairs per head; the same with --json for machines; see README.md)"

# Measures (about 1.5 h on 2 cores for the full grid) and rewrites the generated
# blocks of BENCHMARKS.md and bench/plots/. BENCH_ARGS, e.g.
#   make bench BENCH_ARGS="--lengths 1024,2048 --threads 1 --stages generation,render"
bench: $(BENCH_BIN) $(BIN)
	python3 bench/run_bench.py $(BENCH_ARGS)

# Re-renders BENCHMARKS.md and the plots from bench/results/ without measuring.
bench-report:
	python3 bench/render_benchmarks.py

# Fuzzing (clang + libFuzzer; see FUZZING.md). `make fuzz` builds one binary
# per fuzz/fuzz_*.c into build-fuzz/; `make fuzz-replay` runs every committed
# corpus input (fuzz/corpus/<target>/) once, as a regression test;
# `fuzz/run.sh TARGET SECONDS` fuzzes one target.
FUZZ_CC      ?= clang
FUZZ_BUILD   ?= build-fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=c11 -O1 -g -fopenmp -D_GNU_SOURCE -Iinclude -Isrc -Icli $(MHD_CFLAGS) $(FUZZ_SAN) -DMKV_SOURCE_ROOT='"$(CURDIR)"'
FUZZ_TARGETS := $(patsubst fuzz/fuzz_%.c,%,$(sort $(wildcard fuzz/fuzz_*.c)))
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_OBJ     := $(LIB_SRC:%.c=$(FUZZ_BUILD)/obj/%.o) $(filter-out %/main.o,$(CLI_SRC:%.c=$(FUZZ_BUILD)/obj/%.o))

.PHONY: fuzz-replay valgrind

fuzz: $(FUZZ_BINS)

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

# The SIMD kernels use GCC target pragmas that clang 14 does not honour: they
# are built by $(CC) without instrumentation (fuzzing targets the parsers).
FUZZ_GCC_OBJ := $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(wildcard src/kernels/kernels*.c))
$(FUZZ_GCC_OBJ): $(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -g -fopenmp -D_GNU_SOURCE -Iinclude -Isrc -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/libmaskkv-fuzz.a: $(FUZZ_OBJ)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_common.h $(FUZZ_BUILD)/libmaskkv-fuzz.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_BUILD)/libmaskkv-fuzz.a -lcjson -lpcre2-8 $(MHD_LIBS) -ledit -lpthread -lm

fuzz-replay: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  echo "fuzz-replay: $$t ($$(ls fuzz/corpus/$$t | wc -l) inputs)"; \
	  ASAN_OPTIONS=detect_leaks=1 ./$(FUZZ_BUILD)/fuzz_$$t -runs=0 -rss_limit_mb=4096 -artifact_prefix=$(FUZZ_BUILD)/replay-$$t- fuzz/corpus/$$t 2>$(FUZZ_BUILD)/replay-$$t.log \
	    || { tail -40 $(FUZZ_BUILD)/replay-$$t.log; echo "fuzz-replay: $$t FAILED"; exit 1; }; \
	done; echo "fuzz-replay: all corpora replayed cleanly"

# Memcheck on a small MaskKV generation: no errors, no definite leaks.
VALGRIND_GEN := generate -m tests/models/llada-tiny-f32.gguf -p "The secret code of Alice is 4417." \
                --gen-len 8 --block-len 8 --steps 4 --cache maskkv --budget 4 --threads 1
valgrind: $(BIN)
	OMP_NUM_THREADS=1 valgrind --tool=memcheck --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
	  --show-leak-kinds=definite --track-origins=yes ./$(BIN) $(VALGRIND_GEN)

-include $(FUZZ_OBJ:.o=.d)

# The accuracy grid of EVAL.md on the shipped model (about 15 minutes on 1 core);
# plots need matplotlib (PyPI).
# Two grids: the prefixed prompts (DATA = the model's -eval sets) and the bare
# questions (the -eval-bare sets, answered in 16 positions, scored on their codes)
eval: $(BIN)
	@mkdir -p eval/bare
	./$(BIN) eval -m $(DEFAULT_MODEL) $(EVAL_ARGS) --out eval | tee eval/table.txt
	./$(BIN) eval -m $(DEFAULT_MODEL) $(EVAL_ARGS) --data $(DEFAULT_MODEL:.gguf=-eval-bare) --gen-len 16 --out eval/bare | tee eval/bare/table.txt
	python3 tools/plot_eval.py eval --markdown eval/EVAL_TABLE.md
	python3 tools/plot_eval.py eval/bare --markdown eval/EVAL_TABLE_BARE.md --metric "codes match"
	cat eval/EVAL_HEAD.md eval/EVAL_TABLE.md eval/EVAL_BARE_HEAD.md eval/EVAL_TABLE_BARE.md eval/EVAL_BF16.md eval/EVAL_REVOTE.md > EVAL.md

clean:
	rm -rf build build-asan

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d)
