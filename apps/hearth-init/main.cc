// hearth-init: PID 1 of an execution environment. See src/init/supervisor.h.
#include "init/supervisor.h"

int main(int argc, char** argv) { return hearth::init::runHearthInit(argc, argv); }
