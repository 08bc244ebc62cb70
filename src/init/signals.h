// Signal dispositions of hearth-init as PID 1: SIGCHLD is blocked and read from a signalfd (the
// event loop reaps children); signals a stray process could send (TERM, INT, HUP, QUIT, USR1,
// USR2, PIPE, ALRM, TSTP, TTIN, TTOU) are ignored, so init is not killable by them even when it is
// not PID 1 (tests). Only SIGKILL from outside ends it.
//
// Dispositions are process-wide; call installInitSignals() once, before any child exists.
#pragma once

#include "common/result.h"
#include "common/unique_fd.h"

namespace hearth::init {

// Applies the dispositions above and returns a non-blocking, close-on-exec signalfd for SIGCHLD.
Result<UniqueFd> installInitSignals();

// Restores default dispositions and an empty signal mask for a child about to exec, so the
// runtime can be stopped by SIGTERM as usual. Async-signal-safe: for use between fork and exec.
void resetSignalsForExec();

}  // namespace hearth::init
