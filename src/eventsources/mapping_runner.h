// The running side of event source mappings: one StreamPoller per enabled mapping, started,
// restarted with a new configuration, or stopped as mappings change. Changes are applied one at
// a time, in the order submitted (an update never races the create before it).
//
// Threading: every method runs on the executor given (the data plane).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "eventsources/stream_poller.h"

namespace hearth::eventsources {

class MappingRunner {
 public:
  MappingRunner(queue::EventQueue& queue, queue::EventTarget& target,
                boost::asio::any_io_executor executor, StreamPollerOptions options = {});

  // The mapping's new state: a configuration to run (a poller starts if `enabled`), or nullopt
  // when it was deleted (its poller stops and its stream position is forgotten).
  void submit(std::string uuid, std::optional<StreamMapping> mapping, bool enabled);

  // Lambda's LastProcessingResult for the mapping ("No records processed" when not running).
  std::string lastProcessingResult(const std::string& uuid) const;

  // Stops every poller (after the changes already submitted). Later submissions are ignored.
  boost::asio::awaitable<void> stop();

 private:
  struct Change {
    std::string uuid;
    std::optional<StreamMapping> mapping;
    bool enabled;
  };

  boost::asio::awaitable<void> drain();

  queue::EventQueue& queue_;
  queue::EventTarget& target_;
  boost::asio::any_io_executor executor_;
  StreamPollerOptions options_;
  std::map<std::string, std::unique_ptr<StreamPoller>> pollers_;
  std::deque<Change> changes_;
  bool draining_ = false;  // a drain() coroutine is applying changes_
  bool stopped_ = false;
};

}  // namespace hearth::eventsources
