/* From a parsed request to what mkv_generate takes, against the loaded
 * model: the chat template or the raw prompt (plus answer_prefix), the
 * tokens, the cache preset with its budget, and every check that needs the
 * model (prompt length vs context, the sampler's divisibility rules), each
 * failure a 400 in OpenAI's shape with the request's parameter names. */
#ifndef MKV_SERVE_PROMPT_H
#define MKV_SERVE_PROMPT_H

#include "serve/request.h"

/* profile_path: the calibration profile of maskkv's boundary layer budgets
 * (mkv_gen_params.profile_path; NULL = the model's default profile, else
 * measured on each request). *prompt is mkv_malloc'd (mkv_free) on success. */
bool mkv_serve_prepare(const mkv_model *model, const char *profile_path, const mkv_serve_request *req,
                       int32_t **prompt, int *n_prompt, mkv_gen_params *params, mkv_serve_error *err);

#endif
