#include "commands.h"

/* Placeholder until the command lands; fails loudly rather than pretending. */
mkv_status cmd_detokenize(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return mkv_fail(MKV_ERR_UNSUPPORTED, "the 'detokenize' command is not built yet");
}
