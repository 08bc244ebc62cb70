// hearth-init's own diagnostics: one line to its stderr (the worker decides where that goes).
// Not the runtime's logs, which travel as Log frames. printf-style, no allocation, no iostream
// or spdlog (hearth-init stays small and static).
#pragma once

namespace hearth::init {

// Writes "hearth-init: <formatted>\n" to fd 2; lines are truncated at 1 KiB.
void diag(const char* format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace hearth::init
