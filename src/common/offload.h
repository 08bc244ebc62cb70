// offload(): run blocking work (disk, SQLite, zip extraction, sandbox creation) on a thread pool
// from a coroutine on the single-threaded data plane, and resume on the caller's executor with
// the result. The data-plane thread never blocks.
//
//   Result<FunctionPtr> f = co_await offload(pool, [&] { return service.create(...); });
//
// REQUIRES: `fn` is safe to run on another thread; whatever it references outlives the await.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <type_traits>
#include <utility>

namespace hearth {

template <typename Executor, typename Fn>
boost::asio::awaitable<std::invoke_result_t<Fn>> offload(Executor pool, Fn fn) {
  using T = std::invoke_result_t<Fn>;
  co_return co_await boost::asio::co_spawn(
      pool, [fn = std::move(fn)]() mutable -> boost::asio::awaitable<T> { co_return fn(); },
      boost::asio::use_awaitable);
}

}  // namespace hearth
