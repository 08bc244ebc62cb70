#include "queue/scheduler.h"

#include "common/check.h"

namespace hearth::queue {

void Scheduler::add(uint64_t id, LaneKey key, SystemTime visible_at) {
  LaneIt lane = lanes_.try_emplace(std::move(key)).first;
  ++lane->second.events;
  auto [it, inserted] = events_.emplace(id, Entry{lane, State::kDelayed, visible_at, 0});
  CHECK(inserted);
  delay(id, it->second, visible_at);
}

void Scheduler::delay(uint64_t id, Entry& e, SystemTime visible_at) {
  e.state = State::kDelayed;
  e.until = visible_at;
  delayed_.emplace(visible_at, id);
}

void Scheduler::makeReady(uint64_t id, Entry& e) {
  e.state = State::kReady;
  e.lane->second.ready.push_back(id);
  enroll(e.lane);
}

void Scheduler::enroll(LaneIt lane) {
  Lane& l = lane->second;
  if (l.in_rotation || l.ready.empty() || l.paused_until) return;
  l.in_rotation = true;
  rotation_.push_back(lane);
}

void Scheduler::maybeErase(LaneIt lane) {
  const Lane& l = lane->second;
  if (l.events == 0 && !l.in_rotation && !l.paused_until) lanes_.erase(lane);
}

void Scheduler::advance(SystemTime now) {
  while (!pauses_.empty() && pauses_.begin()->first <= now) {
    auto lane = lanes_.find(pauses_.begin()->second);
    pauses_.erase(pauses_.begin());
    CHECK(lane != lanes_.end());
    lane->second.paused_until.reset();
    enroll(lane);
    maybeErase(lane);
  }
  while (!leases_.empty() && leases_.begin()->first <= now) {
    uint64_t id = leases_.begin()->second;
    leases_.erase(leases_.begin());
    makeReady(id, events_.at(id));
  }
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    uint64_t id = delayed_.begin()->second;
    delayed_.erase(delayed_.begin());
    makeReady(id, events_.at(id));
  }
}

std::vector<Scheduler::Leased> Scheduler::take(size_t max, SystemTime now,
                                               std::chrono::milliseconds visibility) {
  advance(now);
  std::vector<Leased> out;
  const SystemTime expiry = now + visibility;
  while (out.size() < max && !rotation_.empty()) {
    LaneIt lane = rotation_.front();
    rotation_.pop_front();
    Lane& l = lane->second;
    uint64_t id = l.ready.front();
    l.ready.pop_front();
    l.in_rotation = false;
    Entry& e = events_.at(id);
    e.state = State::kLeased;
    e.until = expiry;
    e.token = next_token_++;
    leases_.emplace(expiry, id);
    out.push_back({id, e.token});
    enroll(lane);  // to the back of the rotation, if it has more
  }
  return out;
}

bool Scheduler::holds(uint64_t id, uint64_t token) const {
  auto it = events_.find(id);
  return it != events_.end() && it->second.state == State::kLeased && it->second.token == token;
}

void Scheduler::reschedule(uint64_t id, SystemTime visible_at) {
  Entry& e = events_.at(id);
  CHECK(e.state == State::kLeased);
  leases_.erase({e.until, id});
  delay(id, e, visible_at);
}

void Scheduler::remove(uint64_t id) {
  auto it = events_.find(id);
  if (it == events_.end()) return;
  Entry& e = it->second;
  LaneIt lane = e.lane;
  switch (e.state) {
    case State::kLeased:
      leases_.erase({e.until, id});
      break;
    case State::kDelayed:
      delayed_.erase({e.until, id});
      break;
    case State::kReady: {
      // Rare (a lease expired while its completion was being written): a linear search.
      Lane& l = lane->second;
      std::erase(l.ready, id);
      if (l.ready.empty() && l.in_rotation) {
        l.in_rotation = false;
        std::erase(rotation_, lane);
      }
      break;
    }
  }
  events_.erase(it);
  --lane->second.events;
  maybeErase(lane);
}

void Scheduler::pause(const LaneKey& key, SystemTime until) {
  auto lane = lanes_.find(key);
  if (lane == lanes_.end()) return;  // nothing of it is held; nothing to pause
  Lane& l = lane->second;
  if (l.paused_until) {
    if (*l.paused_until >= until) return;
    pauses_.erase({*l.paused_until, key});
  }
  l.paused_until = until;
  pauses_.emplace(until, key);
  if (l.in_rotation) {
    l.in_rotation = false;
    std::erase(rotation_, lane);
  }
}

std::optional<SystemTime> Scheduler::nextChange() const {
  std::optional<SystemTime> next;
  auto consider = [&next](SystemTime t) {
    if (!next || t < *next) next = t;
  };
  if (!delayed_.empty()) consider(delayed_.begin()->first);
  if (!leases_.empty()) consider(leases_.begin()->first);
  if (!pauses_.empty()) consider(pauses_.begin()->first);
  return next;
}

}  // namespace hearth::queue
