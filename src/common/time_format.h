// Timestamps in the formats Lambda's API and logs use.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace hearth {

using SystemTime = std::chrono::system_clock::time_point;

// FunctionConfiguration.LastModified: "2019-06-07T19:11:20.562+0000" (UTC, milliseconds).
std::string formatLambdaTimestamp(SystemTime t);

// Lambda's invocation records: "2019-11-14T18:16:05.568Z" (UTC, milliseconds).
std::string formatIsoTimestamp(SystemTime t);

// Milliseconds since the Unix epoch, as the queue stores times.
int64_t toEpochMillis(SystemTime t);
SystemTime fromEpochMillis(int64_t ms);

// SigV4: "20261126T193627Z" and its date part "20261126".
std::string formatAmzDate(SystemTime t);

// Log stream names: "2026/11/26".
std::string formatLogStreamDate(SystemTime t);

}  // namespace hearth
