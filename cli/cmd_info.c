#include "commands.h"

/* Placeholder until the command lands; fails loudly rather than pretending. */
mkv_status cmd_info(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return mkv_fail(MKV_ERR_UNSUPPORTED, "the 'info' command is not built yet");
}
