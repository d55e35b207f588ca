#include "commands.h"

/* Placeholder until the command lands; fails loudly rather than pretending. */
mkv_status cmd_tokenize(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return mkv_fail(MKV_ERR_UNSUPPORTED, "the 'tokenize' command is not built yet");
}
