/* The `maskkv` sub-commands. Each takes the arguments after its name and
 * returns an mkv_status that becomes the process exit code. */
#ifndef MKV_CLI_COMMANDS_H
#define MKV_CLI_COMMANDS_H

#include "maskkv.h"

typedef struct {
    const char *name;
    mkv_status (*run)(int argc, char **argv);
    const char *summary;
} mkv_command;

mkv_status cmd_info(int argc, char **argv);
mkv_status cmd_convert(int argc, char **argv);
mkv_status cmd_tokenize(int argc, char **argv);
mkv_status cmd_detokenize(int argc, char **argv);
mkv_status cmd_forward(int argc, char **argv);
mkv_status cmd_generate(int argc, char **argv);
mkv_status cmd_calibrate(int argc, char **argv);
mkv_status cmd_eval(int argc, char **argv);
mkv_status cmd_chat(int argc, char **argv);
mkv_status cmd_serve(int argc, char **argv);

#endif
