/* maskkv calibrate: measure the per-layer attention importance I(l) on
 * calibration texts (SPEC §4, boundary-aware layer budgets) and write the
 * profile that `generate --profile` (and MaskKV's offline budgets) load. */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "progress.h"

static void usage(void) {
    printf("usage: maskkv calibrate -m MODEL -f CALIB.txt -o PROFILE.json [options]\n"
           "Measures MaskKV's layer importance I(l) = 1 - mean cos(h_in, h_out) of every attention\n"
           "sub-layer at the first denoising step and writes it as a profile for generate --profile.\n"
           "  -m, --model PATH   .gguf file or HF checkpoint directory (required)\n"
           "  -f, --file FILE    calibration text: samples are paragraphs separated by blank lines\n"
           "  --ids-file FILE    instead of -f: one sample of token ids per line (models without a\n"
           "                     tokenizer, benchmarks)\n"
           "  -o, --output FILE  the profile JSON (required; written atomically)\n"
           "  --samples N        samples used (16)\n"
           "  --max-len N        tokens per sample, longer ones are cut (1024)\n"
           "  --gen-len N        masks after each sample (32)\n"
           "  --chat             wrap each sample in the chat template (off)\n"
           "  -t, --threads N    threads (all cores)\n"
           "  -c, --ctx-size N   cut samples to N tokens of context; past the trained context with a\n"
           "                     warning (default: the trained context)\n"
           "  --progress         progress on stderr even when it is not a terminal\n"
           "example: maskkv calibrate -m models/llada-tiny-retrieval.gguf -f /usr/share/common-licenses/GPL-3 --samples 4 --max-len 256 --gen-len 8 --chat -o profile.json\n");
}

mkv_status cmd_calibrate(int argc, char **argv) {
    const char *model_path = NULL, *calib_path = NULL, *out_path = NULL;
    int samples = 16, max_len = 1024, gen_len = 32, ctx_size = 0;
    mkv_model_params mp = mkv_model_params_default();
    bool chat = false, ids_per_line = false, force_progress = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage();
            return MKV_OK;
        }
        if (!strcmp(a, "--chat")) {
            chat = true;
            continue;
        }
        if (!strcmp(a, "--progress")) {
            force_progress = true;
            continue;
        }
        const char *v = mkv_arg_next(argc, argv, &i); /* NULL: checked once the flag is known */
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) model_path = v;
        else if (!strcmp(a, "-f") || !strcmp(a, "--file")) calib_path = v;
        else if (!strcmp(a, "--ids-file")) calib_path = v, ids_per_line = true;
        else if (!strcmp(a, "-o") || !strcmp(a, "--out")) out_path = v;
        else if (!strcmp(a, "--samples")) { if (!mkv_parse_int(a, v, 1, 1 << 20, &samples)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--max-len")) { if (!mkv_parse_int(a, v, 1, 1 << 24, &max_len)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--gen-len")) { if (!mkv_parse_int(a, v, 1, 1 << 20, &gen_len)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--ctx-size") || !strcmp(a, "-c")) { if (!mkv_parse_int(a, v, 1, 1 << 24, &ctx_size)) return MKV_ERR_USAGE; }
        else if (!strcmp(a, "--threads") || !strcmp(a, "-t")) { if (!mkv_parse_threads(v, &mp.n_threads)) return MKV_ERR_USAGE; }
        else return mkv_fail(MKV_ERR_USAGE, "unknown option '%s' (see maskkv calibrate --help)", a);
        if (!v) return mkv_arg_missing(a);
    }
    if (!model_path || !calib_path || !out_path) return mkv_fail(MKV_ERR_USAGE, "-m MODEL, -f CALIB.txt and -o PROFILE are required");

    const char *inputs[] = {model_path, calib_path};
    if (mkv_output_check(out_path, inputs, 2)) return mkv_last_status();

    mkv_model *model = NULL;
    char *text = NULL, *chat_text = NULL;
    int32_t *ids = NULL;
    mkv_calibration *calibration = NULL;
    mp.ctx_size = ctx_size;
    mkv_status st = mkv_model_load_with(model_path, &mp, &model);
    if (st != MKV_OK) goto done;
    const mkv_hparams *hp = mkv_model_hparams(model);
    const mkv_tokenizer *tok = mkv_model_tokenizer(model);
    if (!tok && !ids_per_line) {
        st = mkv_fail(MKV_ERR_UNSUPPORTED, "%s has no tokenizer to read the calibration text (use --ids-file)", model_path);
        goto done;
    }
    int context = ctx_size > 0 ? ctx_size : hp->n_ctx;
    if (max_len + gen_len > context) max_len = context - gen_len;
    if (max_len < 1) {
        st = ctx_size > 0 ? mkv_fail(MKV_ERR_USAGE, "--gen-len %d leaves no room in --ctx-size %d", gen_len, ctx_size)
                          : mkv_fail(MKV_ERR_USAGE, "--gen-len %d leaves no room in the context of %d (see --ctx-size)",
                                     gen_len, hp->n_ctx);
        goto done;
    }
    bool warned = false;
    if ((st = mkv_read_text_file(calib_path, (size_t)1 << 30, &text, NULL)) != MKV_OK) goto done;
    if ((st = mkv_calibration_create(model, &calibration)) != MKV_OK) goto done;
    int used = 0;
    mkv_progress progress;
    mkv_progress_init(&progress, force_progress, false);
    mkv_progress_phase(&progress, "calibrate");
    for (char *para = text; *para && used < samples;) {
        char *end = strstr(para, ids_per_line ? "\n" : "\n\n");
        if (end) *end = '\0';
        const char *sample = para;
        para = end ? end + (ids_per_line ? 1 : 2) : para + strlen(para);
        while (*sample == '\n' || *sample == ' ') sample++;
        if (!*sample) continue;
        mkv_free(chat_text);
        chat_text = NULL;
        if (chat && !ids_per_line) {
            mkv_chat_message turn = {"user", sample};
            if ((st = mkv_chat_apply(model, &turn, 1, true, &chat_text)) != MKV_OK) goto done;
            sample = chat_text;
        }
        int n_ids = 0;
        mkv_free(ids);
        ids = NULL;
        if (ids_per_line) {
            if (!mkv_parse_id_list("--ids-file", sample, &ids, &n_ids)) {
                st = mkv_last_status();
                goto done;
            }
            for (int i = 0; i < n_ids; i++)
                if (ids[i] >= hp->n_vocab) {
                    st = mkv_fail(MKV_ERR_INPUT, "%s: token id %d is out of the vocabulary [0, %d)", calib_path, ids[i], hp->n_vocab);
                    goto done;
                }
        } else if ((st = mkv_tokenize(tok, sample, strlen(sample), true, &ids, &n_ids)) != MKV_OK) goto done;
        if (n_ids == 0) continue;
        if (n_ids > max_len) n_ids = max_len;
        int n = n_ids + gen_len;
        if (n > hp->n_ctx && !warned) { /* once: the first sample past the trained context */
            mkv_warn_past_context("calibrate", n, hp->n_ctx, ctx_size);
            warned = true;
        }
        if ((st = mkv_calibration_add(calibration, ids, n_ids, gen_len, NULL)) != MKV_OK) goto done;
        used++;
        mkv_progress_update(&progress, used, samples, "sample", used, "sample", NULL);
    }
    mkv_progress_finish(&progress);
    if (used == 0) {
        st = mkv_fail(MKV_ERR_INPUT, "%s: no non-empty calibration text", calib_path);
        goto done;
    }
    if ((st = mkv_calibration_save(calibration, out_path)) != MKV_OK) goto done;
    printf("calibrate: %d samples -> %s; I(l) =", used, out_path);
    const double *importance = mkv_calibration_importance(calibration);
    for (int l = 0; l < hp->n_layers; l++) printf(" %.4f", importance[l]);
    printf("\n");
done:
    mkv_calibration_free(calibration);
    mkv_free(ids);
    mkv_free(chat_text);
    mkv_free(text);
    mkv_model_free(model);
    return st;
}
