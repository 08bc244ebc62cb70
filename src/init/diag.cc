// See diag.h.
#include "init/diag.h"

#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>

namespace hearth::init {

void diag(const char* format, ...) {
  char line[1024];
  constexpr int kPrefix = sizeof("hearth-init: ") - 1;
  std::snprintf(line, sizeof(line), "hearth-init: ");
  va_list args;
  va_start(args, format);
  int n = std::vsnprintf(line + kPrefix, sizeof(line) - kPrefix - 1, format, args);
  va_end(args);
  if (n < 0) n = 0;
  size_t len = static_cast<size_t>(kPrefix) +
               std::min(static_cast<size_t>(n), sizeof(line) - kPrefix - 2);
  line[len++] = '\n';
  // SAFETY: writes `len` initialised bytes of line; a failed diagnostic write has no recourse.
  ssize_t ignored = ::write(STDERR_FILENO, line, len);
  (void)ignored;
}

}  // namespace hearth::init
