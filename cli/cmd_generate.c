#include "commands.h"

/* Placeholder until the command lands; fails loudly rather than pretending. */
mkv_status cmd_generate(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return mkv_fail(MKV_ERR_UNSUPPORTED, "the 'generate' command is not built yet");
}
