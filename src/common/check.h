// CHECK(cond): an invariant of our own code. Failing one is a bug in Hearth, so the process
// aborts with the location. Never CHECK what a client, a disk or a guest can cause: return an
// Error instead.
#pragma once

#include <cstdio>
#include <cstdlib>

#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (!(cond)) [[unlikely]] {                                                     \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)
