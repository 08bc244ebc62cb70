// The in-memory scheduling state of an event queue: which stored events are ready, delayed or
// leased, handed out fairly across functions. Pure logic with explicit times (no clock, no I/O),
// so SqliteEventQueue keeps only durability to itself and the rules are tested here.
//
// Fairness: ready events wait in one FIFO lane per function; take() visits the lanes in turn,
// one event per lane per turn, so a function with ten thousand ready events and a function with
// one each get the next slot alternately. A paused lane (a throttled function) is skipped until
// its pause ends.
//
// Thread-safety: none; owned by one executor.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/time_format.h"

namespace hearth::queue {

// Fairness is per (account, function).
struct LaneKey {
  std::string account_id;
  std::string function_name;
  auto operator<=>(const LaneKey&) const = default;
};

class Scheduler {
 public:
  struct Leased {
    uint64_t id;
    uint64_t token;
  };

  // Adds a stored event, ready from `visible_at`. REQUIRES: `id` is not held already.
  void add(uint64_t id, LaneKey key, SystemTime visible_at);

  // Brings the state to `now`: delayed events whose time came become ready, pauses that ended
  // end, and leases whose visibility timeout passed are withdrawn (their events become ready).
  void advance(SystemTime now);

  // advance(now), then leases up to `max` ready events until now + visibility, in turn across
  // lanes. Each lease gets a fresh token.
  std::vector<Leased> take(size_t max, SystemTime now, std::chrono::milliseconds visibility);

  // True if `id` is leased under `token`.
  bool holds(uint64_t id, uint64_t token) const;
  // Ends a lease: the event is ready again at `visible_at`. REQUIRES: holds(id, token).
  void reschedule(uint64_t id, SystemTime visible_at);
  // Forgets an event (it was completed), in whatever state it is; a no-op for an unknown id.
  void remove(uint64_t id);
  // Hands out nothing from the lane before `until`. A shorter pause never shortens a longer one.
  void pause(const LaneKey& key, SystemTime until);

  // The earliest time at which advance() would change something, if any.
  std::optional<SystemTime> nextChange() const;
  // True if take() at the current state would hand out an event.
  bool hasReady() const { return !rotation_.empty(); }

  size_t size() const { return events_.size(); }
  size_t leased() const { return leases_.size(); }

 private:
  enum class State { kReady, kDelayed, kLeased };
  struct Lane {
    std::deque<uint64_t> ready;
    size_t events = 0;  // events of this lane in any state
    std::optional<SystemTime> paused_until;
    bool in_rotation = false;
  };
  using LaneIt = std::map<LaneKey, Lane>::iterator;
  struct Entry {
    LaneIt lane;
    State state;
    SystemTime until;  // kDelayed: visible_at; kLeased: lease expiry
    uint64_t token = 0;
  };

  void makeReady(uint64_t id, Entry& e);
  void delay(uint64_t id, Entry& e, SystemTime visible_at);
  // Puts the lane into the rotation if it has ready events and is not paused.
  void enroll(LaneIt lane);
  // Erases the lane if nothing refers to it any more.
  void maybeErase(LaneIt lane);

  uint64_t next_token_ = 1;
  std::map<LaneKey, Lane> lanes_;
  std::unordered_map<uint64_t, Entry> events_;
  // Invariant: a lane is in rotation_ (exactly once) iff it has ready events and is not paused;
  // in_rotation mirrors membership.
  std::deque<LaneIt> rotation_;
  std::set<std::pair<SystemTime, uint64_t>> delayed_;  // (visible_at, id) of kDelayed events
  std::set<std::pair<SystemTime, uint64_t>> leases_;   // (expiry, id) of kLeased events
  std::set<std::pair<SystemTime, LaneKey>> pauses_;    // (until, lane) of paused lanes
};

}  // namespace hearth::queue
