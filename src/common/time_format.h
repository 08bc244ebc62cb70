// Timestamps in the formats Lambda's API and logs use.
#pragma once

#include <chrono>
#include <string>

namespace hearth {

using SystemTime = std::chrono::system_clock::time_point;

// FunctionConfiguration.LastModified: "2019-06-07T19:11:20.562+0000" (UTC, milliseconds).
std::string formatLambdaTimestamp(SystemTime t);

// SigV4: "20261126T193627Z" and its date part "20261126".
std::string formatAmzDate(SystemTime t);

// Log stream names: "2026/11/26".
std::string formatLogStreamDate(SystemTime t);

}  // namespace hearth
