// Test helper: runs a coroutine to completion on an io_context and returns its value.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <future>
#include <utility>

namespace hearth::queue::testing {

// Runs `io` until `task` (an awaitable) completes; returns its result. Other work spawned on
// `io` keeps running while the task does.
template <typename Awaitable>
auto runUntilDone(boost::asio::io_context& io, Awaitable task) {
  auto future = boost::asio::co_spawn(io, std::move(task), boost::asio::use_future);
  io.restart();
  while (future.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    io.run_one_for(std::chrono::milliseconds(50));
  }
  return future.get();
}

}  // namespace hearth::queue::testing
