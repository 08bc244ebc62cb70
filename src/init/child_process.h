// Starting the runtime (the function's bootstrap) as hearth-init's child, with its stdout and
// stderr connected to pipes that init reads and forwards as Log frames.
//
// The child gets init's environment and stdin unchanged, its own process group (so init can
// kill the runtime and everything it started at once), default signal dispositions, and no
// other inherited fds (init's own fds are all close-on-exec).
#pragma once

#include <sys/types.h>

#include <span>

#include "common/result.h"
#include "common/unique_fd.h"

namespace hearth::init {

// The exit status of a child whose exec failed (the shell's convention).
inline constexpr int kExecFailedExitCode = 127;

struct RuntimeProcess {
  pid_t pid = -1;           // also the process group id
  UniqueFd stdout_pipe;     // read ends, non-blocking, close-on-exec
  UniqueFd stderr_pipe;
};

// Forks and execs argv[0] (a path; no PATH search) with argv. If exec fails, the child is reaped
// and the error carries the child's errno.
// REQUIRES: argv is non-empty and argv.back() == nullptr; SIGCHLD handling is set up so the
// caller reaps the child (see signals.h).
Result<RuntimeProcess> spawnRuntime(std::span<char* const> argv);

}  // namespace hearth::init
