/* maskkv serve: an OpenAI-compatible HTTP server over one loaded model (the
 * library's mkv_serve_run); SIGINT/SIGTERM drain the accepted requests and
 * exit 0. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"

static void usage(void) {
    printf(
        "usage: maskkv serve -m MODEL [options]\n"
        "An OpenAI-compatible HTTP server over one loaded model: POST /v1/chat/completions and\n"
        "/v1/completions (stream: true as server-sent events; maskkv's options steps, block_length,\n"
        "cache, budget, alg, ... as extra body fields), GET /v1/models, /health, /metrics.\n"
        "  -m, --model PATH       .gguf file or HF checkpoint directory (required)\n"
        "  --host ADDR            address to bind, IPv4 or IPv6 literal (127.0.0.1)\n"
        "  --port N               TCP port (8080); 0 = a free port, printed at start\n"
        "  --parallel N           generations at once (1)\n"
        "  --queue N              requests that may wait beyond them (8); more get 503\n"
        "  -t, --threads N        threads per generation (default: cores / parallel)\n"
        "  --api-key KEY          require \"Authorization: Bearer KEY\" (else 401) (none)\n"
        "  --alias NAME           the model id in /v1/models and answers (default: the file name)\n"
        "  --profile FILE         layer importance for cache maskkv (default: MODEL.profile.json\n"
        "                         when it exists, else measured per request)\n"
        "  --max-tokens N         largest max_tokens a request may ask (1024)\n"
        "  --max-body SIZE        largest request body (1M); larger gets 413\n"
        "  --timeout SECONDS      per request, queueing included (300)\n"
        "SIGINT/SIGTERM: stop listening, finish the accepted requests, exit 0.\n"
        "example: maskkv serve -m models/llada-tiny-retrieval.gguf --port 8080 --parallel 2\n");
}

static void stop_on_signal(int sig) {
    (void)sig;
    mkv_serve_stop();
}

static void print_url(void *ctx, const char *url) {
    const char *model_path = ctx;
    fprintf(stderr, "maskkv serve: listening on %s (model %s); SIGINT/SIGTERM stop it\n", url, model_path);
    fflush(stderr);
}

mkv_status cmd_serve(int argc, char **argv) {
    const char *model_path = NULL;
    mkv_serve_params p;
    mkv_serve_params_defaults(&p);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage();
            return MKV_OK;
        }
        const char *v = mkv_arg_next(argc, argv, &i);
        double seconds;
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) model_path = v;
        else if (!strcmp(a, "--host")) p.host = v;
        else if (!strcmp(a, "--port")) { if (!mkv_parse_int(a, v, 0, 65535, &p.port)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--parallel")) { if (!mkv_parse_int(a, v, 1, 256, &p.parallel)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--queue")) { if (!mkv_parse_int(a, v, 0, 4096, &p.queue)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--threads") || !strcmp(a, "-t")) { if (!mkv_parse_threads(v, &p.threads)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--max-tokens")) { if (!mkv_parse_int(a, v, 1, 1 << 20, &p.max_tokens)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--max-body")) { if (!mkv_parse_bytes(a, v, &p.max_body_bytes)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--timeout")) {
            if (!mkv_parse_float(a, v, 0.001, 1e7, &seconds)) return MKV_ERR_USAGE;
            p.timeout_seconds = seconds;
        } else if (!strcmp(a, "--api-key")) p.api_key = v;
        else if (!strcmp(a, "--alias")) p.model_id = v;
        else if (!strcmp(a, "--profile")) p.profile_path = v;
        else return mkv_fail(MKV_ERR_USAGE, "unknown option '%s' (see maskkv serve --help)", a);
        if (!v) return mkv_arg_missing(a);
    }
    if (!model_path) return mkv_fail(MKV_ERR_USAGE, "-m MODEL is required");
    if (p.api_key && !p.api_key[0]) return mkv_fail(MKV_ERR_USAGE, "--api-key: empty key");
    mkv_model *model = NULL;
    mkv_status st = mkv_model_load(model_path, &model);
    if (st != MKV_OK) return st;
    /* from here a signal stops the server (which drains), instead of killing the process */
    struct sigaction sa = {0};
    sa.sa_handler = stop_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    p.on_listening = print_url;
    p.on_listening_ctx = (void *)model_path;
    st = mkv_serve_run(model, &p);
    if (st == MKV_OK) fprintf(stderr, "maskkv serve: stopped\n");
    mkv_model_free(model);
    return st;
}
