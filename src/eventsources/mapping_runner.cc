#include "eventsources/mapping_runner.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/log.h"

namespace hearth::eventsources {

namespace asio = boost::asio;

MappingRunner::MappingRunner(queue::EventQueue& queue, queue::EventTarget& target,
                             asio::any_io_executor executor, StreamPollerOptions options)
    : queue_(queue), target_(target), executor_(std::move(executor)), options_(options) {}

void MappingRunner::submit(std::string uuid, std::optional<StreamMapping> mapping, bool enabled) {
  if (stopped_) return;
  changes_.push_back(Change{std::move(uuid), std::move(mapping), enabled});
  if (draining_) return;
  draining_ = true;
  asio::co_spawn(executor_, drain(), asio::detached);
}

asio::awaitable<void> MappingRunner::drain() {
  while (!changes_.empty()) {
    Change c = std::move(changes_.front());
    changes_.pop_front();
    if (auto it = pollers_.find(c.uuid); it != pollers_.end()) {
      co_await it->second->stop();
      pollers_.erase(it);
    }
    if (!c.mapping) {
      Result<void> forgot = co_await queue_.forgetPosition(c.uuid);
      if (!forgot) LOG_WARN("event source mapping {}: {}", c.uuid, forgot.error().toString());
      continue;
    }
    if (!c.enabled || stopped_) continue;
    auto poller =
        std::make_unique<StreamPoller>(std::move(*c.mapping), queue_, target_, executor_, options_);
    poller->start();
    pollers_.emplace(c.uuid, std::move(poller));
  }
  draining_ = false;
}

std::string MappingRunner::lastProcessingResult(const std::string& uuid) const {
  auto it = pollers_.find(uuid);
  return it == pollers_.end() ? "No records processed" : it->second->lastProcessingResult();
}

asio::awaitable<void> MappingRunner::stop() {
  stopped_ = true;
  while (draining_) {
    asio::steady_timer tick(executor_, std::chrono::milliseconds(5));
    boost::system::error_code ignored;
    co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  for (auto& [uuid, poller] : pollers_) co_await poller->stop();
  pollers_.clear();
}

}  // namespace hearth::eventsources
