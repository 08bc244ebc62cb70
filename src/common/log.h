// Logging for the daemon: spdlog behind one include, so modules say LOG_INFO(...) and only
// apps/ configures sinks and levels. Not for hearth-init, which stays free of it.
#pragma once

#include <spdlog/spdlog.h>

#define LOG_DEBUG(...) SPDLOG_DEBUG(__VA_ARGS__)
#define LOG_INFO(...) SPDLOG_INFO(__VA_ARGS__)
#define LOG_WARN(...) SPDLOG_WARN(__VA_ARGS__)
#define LOG_ERROR(...) SPDLOG_ERROR(__VA_ARGS__)
