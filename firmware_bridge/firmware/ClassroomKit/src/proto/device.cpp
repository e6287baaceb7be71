#include "device.h"

#include <string.h>

namespace kit {
namespace {

bool due(uint32_t now, uint32_t last, uint32_t period) { return static_cast<uint32_t>(now - last) >= period; }

uint32_t remaining(uint32_t now, uint32_t last, uint32_t period) {
  const uint32_t elapsed = now - last;
  return elapsed >= period ? 0 : period - elapsed;
}

int32_t as_int(uint32_t value) { return static_cast<int32_t>(value & 0x7FFFFFFF); }

}  // namespace

void Device::begin(uint32_t now) {
  now_ = now;
  boot_ms_ = now;
  last_heartbeat_ms_ = now;
  last_telemetry_ms_ = now;
  identify_due_ = true;  // proto_ is 0: "I just booted", a running host says HELLO again
  send_due(now);
}

void Device::poll(uint32_t now) {
  now_ = now;
  receive(now);
  if (in_session() && host_alive_ && due(now, last_host_ms_, id_.host_timeout_ms)) {
    host_alive_ = false;
    kit_.host_lost(*this, now);
  }
  kit_.update(*this, now);  // before telemetry, so a frame never carries stale or unread sensors
  receive(now);             // reading the sensors may have taken milliseconds
  send_due(now);
}

// One byte at a time, so that a command held back (every reply slot still unsent) leaves the
// bytes after it in the port, where the interrupt-fed ring keeps them.
void Device::receive(uint32_t now) {
  if (held_) {
    if (!handle(decoder_.frame(), now)) return;
    held_ = false;
  }
  uint8_t byte;
  while (port_.read(&byte, 1) == 1) {
    if (!decoder_.push(byte) || handle(decoder_.frame(), now)) continue;
    held_ = true;
    return;
  }
}

uint32_t Device::idle_ms(uint32_t now) const {
  if (!in_session()) return 1000;
  uint32_t wait = remaining(now, last_heartbeat_ms_, id_.heartbeat_ms);
  const uint32_t telemetry = remaining(now, last_telemetry_ms_, id_.telemetry_ms);
  if (telemetry < wait) wait = telemetry;
  if (host_alive_) {
    const uint32_t host = remaining(now, last_host_ms_, id_.host_timeout_ms) + 1;
    if (host < wait) wait = host;
  }
  return wait;
}

bool Device::handle(const Frame& frame, uint32_t now) {
  switch (frame.type) {
    case kHello:
      on_hello(frame, now);
      break;
    case kHeartbeat:
      break;
    case kCommand:
      if (!on_command(frame, now)) return false;
      break;
    case kIdentify:
    case kTelemetry:
    case kEvent:
    case kAck:
    case kNack:
    case kConsole:
      return true;  // board-to-host types: an echo or a confused peer, not the host
    default:
      ++counters.unknown_type;
      return true;
  }
  last_host_ms_ = now;
  if (in_session() && !host_alive_) host_alive_ = true;
  return true;
}

void Device::on_hello(const Frame& frame, uint32_t now) {
  TlvReader reader(frame.payload, frame.payload_len);
  TlvItem pmin, pmax;
  if (!reader.valid() || !reader.find(KIT_TEXT("pmin"), pmin) || !reader.find(KIT_TEXT("pmax"), pmax) ||
      pmin.tag != kTagInt || pmax.tag != kTagInt) {
    ++counters.bad_payload;
    return;
  }
  const int32_t low = pmin.i > kProtocolMin ? pmin.i : kProtocolMin;
  const int32_t high = pmax.i < kProtocolMax ? pmax.i : kProtocolMax;
  proto_ = low <= high ? static_cast<uint8_t>(high) : 0;
  for (Reply& r : cache_) r.flags = 0;  // a new session: the host's seq numbers start over
  identify_due_ = true;
  telemetry_rest_ = 0;
  if (in_session()) {
    host_alive_ = true;
    last_host_ms_ = now;
    last_heartbeat_ms_ = now;
    last_telemetry_ms_ = now - id_.telemetry_ms;  // first telemetry right after IDENTIFY
    kit_.session_started(*this, now);
  }
}

Device::Reply* Device::free_reply() {
  Reply& oldest = cache_[cache_next_];
  if (oldest.flags & kUnsent) return nullptr;
  cache_next_ = static_cast<uint8_t>((cache_next_ + 1) % kReplyCacheSize);
  return &oldest;
}

bool Device::on_command(const Frame& frame, uint32_t now) {
  if (in_session() && drop_commands > 0) {
    --drop_commands;
    ++counters.test_drops;
    return true;
  }
  for (Reply& cached : cache_) {
    if ((cached.flags & kUsed) && cached.seq == frame.seq) {
      ++counters.duplicates;
      cached.flags |= kUnsent;  // answered again from the cache, not run again
      return true;
    }
  }
  Reply* slot = free_reply();
  if (slot == nullptr) return false;
  Reply& reply = *slot;
  reply.seq = frame.seq;
  reply.flags = kUsed | kUnsent;
  reply.len = 0;
  TlvWriter result(reply.result, sizeof reply.result);
  TlvReader args(frame.payload, frame.payload_len);
  TlvItem name;
  Result outcome;
  if (!in_session()) {
    outcome = Result{kNoSession, KIT_TEXT("no_session")};
  } else if (!args.valid() || !args.next(name) || !name.is(KIT_TEXT("cmd")) || name.tag != kTagStr) {
    ++counters.bad_payload;
    outcome = Result{kBadPayload, KIT_TEXT("bad_payload")};
  } else if (name.str_is(KIT_TEXT("stats"))) {
    ++counters.commands;
    reply.flags |= kLiveStats;  // read-only: built when sent, so a resend shows fresh counts
    outcome = Result::ok();
  } else {
    ++counters.commands;
    outcome = kit_.command(*this, name, args, result, now);
    if (outcome.code == kOk && !result.ok()) outcome = Result{kInternal, KIT_TEXT("result_too_large")};
  }
  reply.code = outcome.code;
  reply.error = outcome.error;
  if (outcome.code == kOk) reply.len = static_cast<uint8_t>(result.size());
  if (in_session() && drop_replies > 0) {
    --drop_replies;
    ++counters.test_drops;
    reply.flags &= static_cast<uint8_t>(~kUnsent);
  }
  return true;
}

bool Device::send_event(Text name, const uint8_t* fields, size_t len) {
  if (!in_session() || outbox_type_ != 0) {
    ++counters.events_dropped;
    return false;
  }
  TlvWriter w(outbox_, sizeof outbox_);
  w.put_str(KIT_TEXT("event"), name);
  if (!w.ok() || w.size() + len > sizeof outbox_) {
    ++counters.events_dropped;
    return false;
  }
  memcpy(outbox_ + w.size(), fields, len);
  outbox_len_ = static_cast<uint8_t>(w.size() + len);
  outbox_type_ = kEvent;
  flush_outbox();
  return true;
}

bool Device::console(Text text) {
  if (!in_session() || outbox_type_ != 0) {
    ++counters.events_dropped;
    return false;
  }
  size_t len = text.length();
  if (len > kOutboxCap) len = kOutboxCap;
  text.copy(outbox_, len);
  outbox_len_ = static_cast<uint8_t>(len);
  outbox_type_ = kConsole;
  flush_outbox();
  return true;
}

// One frame per call while the port sends in the background; everything due on a port that
// writes at once. Order: answers first (the host is waiting), then IDENTIFY, the outbox,
// telemetry and heartbeat.
//
// TELEMETRY goes out in parts (docs/serial-protocol.md §9): each holds the next readings up to
// kTelemetryPart bytes, every part but the last carries `more` = true, and the host merges
// them into one set. A frame on the line cannot be interrupted, so an answer that becomes due
// while telemetry goes out waits for the part being sent only, and goes before the next.
void Device::send_due(uint32_t now) {
  while (port_.ready()) {
    Reply* unsent = nullptr;
    for (uint8_t k = 0; k < kReplyCacheSize && unsent == nullptr; ++k) {
      Reply& r = cache_[(cache_next_ + k) % kReplyCacheSize];  // oldest first
      if (r.flags & kUnsent) unsent = &r;
    }
    if (unsent != nullptr) {
      send_reply(*unsent);
    } else if (identify_due_) {
      identify_due_ = false;
      transmit(kIdentify, seq_++, identify_payload(tx_payload(), now));
    } else if (outbox_type_ != 0) {
      flush_outbox();
    } else if (in_session() && (telemetry_rest_ != 0 || due(now, last_telemetry_ms_, id_.telemetry_ms))) {
      if (telemetry_rest_ == 0) last_telemetry_ms_ = now;
      TlvWriter w(tx_payload(), kMaxPayload);
      w.window(telemetry_rest_, kTelemetryPart);
      kit_.telemetry(w, now);
      w.put_bool(KIT_TEXT("host"), host_alive_);
      if (extra_telemetry != nullptr) extra_telemetry(w);
      telemetry_rest_ = w.rest();
      if (telemetry_rest_ != 0) w.end_window().put_bool(KIT_TEXT("more"), true);
      transmit(kTelemetry, seq_++, w.size());
    } else if (in_session() && due(now, last_heartbeat_ms_, id_.heartbeat_ms)) {
      last_heartbeat_ms_ = now;
      TlvWriter w(tx_payload(), kMaxPayload);
      w.put_int(KIT_TEXT("up"), as_int(now - boot_ms_));
      transmit(kHeartbeat, seq_++, w.size());
    } else {
      return;
    }
  }
}

void Device::flush_outbox() {
  if (outbox_type_ == 0 || !port_.ready()) return;
  memcpy(tx_payload(), outbox_, outbox_len_);
  transmit(outbox_type_, seq_++, outbox_len_);
  outbox_type_ = 0;
}

void Device::send_reply(Reply& reply) {
  reply.flags &= static_cast<uint8_t>(~kUnsent);
  if (reply.flags & kLiveStats) {
    transmit(kAck, reply.seq, stats_payload(tx_payload(), now_));
    return;
  }
  if (reply.code == kOk) {
    memcpy(tx_payload(), reply.result, reply.len);
    transmit(kAck, reply.seq, reply.len);
    return;
  }
  TlvWriter w(tx_payload(), kMaxPayload);
  size_t err_len = reply.error.length();
  if (err_len > 32) err_len = 32;
  uint8_t err[32];
  reply.error.copy(err, err_len);
  w.put_int(KIT_TEXT("code"), reply.code).put_str(KIT_TEXT("err"), err, err_len);
  transmit(kNack, reply.seq, w.size());
}

size_t Device::identify_payload(uint8_t* out, uint32_t now) {
  TlvWriter w(out, kMaxPayload);
  w.put_str(KIT_TEXT("id"), id_.device_id)
      .put_str(KIT_TEXT("kind"), id_.kind)
      .put_str(KIT_TEXT("fw"), id_.firmware)
      .put_int(KIT_TEXT("pmin"), kProtocolMin)
      .put_int(KIT_TEXT("pmax"), kProtocolMax)
      .put_int(KIT_TEXT("proto"), proto_)
      .put_int(KIT_TEXT("hb"), id_.heartbeat_ms)
      .put_int(KIT_TEXT("hbto"), id_.host_timeout_ms)
      .put_int(KIT_TEXT("up"), as_int(now - boot_ms_))
      .put_str(KIT_TEXT("caps"), id_.commands)
      .put_str(KIT_TEXT("outs"), id_.outputs);
  return w.size();
}

// The `stats` ACK (docs/serial-protocol.md §8): the decoder's drop reasons under the names
// the host uses for its own, then the link's counters.
size_t Device::stats_payload(uint8_t* out, uint32_t now) {
  const DecoderCounters& d = decoder_.counters;
  const LinkCounters& c = counters;
  TlvWriter w(out, kMaxPayload);
  w.put_int(KIT_TEXT("rx_frames"), as_int(d.frames))
      .put_int(KIT_TEXT("bad_cobs"), as_int(d.bad_cobs))
      .put_int(KIT_TEXT("bad_crc"), as_int(d.bad_crc))
      .put_int(KIT_TEXT("oversize"), as_int(d.oversize))
      .put_int(KIT_TEXT("too_short"), as_int(d.too_short))
      .put_int(KIT_TEXT("bad_version"), as_int(d.bad_version))
      .put_int(KIT_TEXT("bad_length"), as_int(d.bad_length))
      .put_int(KIT_TEXT("rx_lost"), as_int(port_.lost()))
      .put_int(KIT_TEXT("unknown_type"), as_int(c.unknown_type))
      .put_int(KIT_TEXT("bad_payload"), as_int(c.bad_payload))
      .put_int(KIT_TEXT("commands"), as_int(c.commands))
      .put_int(KIT_TEXT("duplicates"), as_int(c.duplicates))
      .put_int(KIT_TEXT("tx_frames"), as_int(c.frames_out))
      .put_int(KIT_TEXT("events_dropped"), as_int(c.events_dropped))
      .put_int(KIT_TEXT("up"), as_int(now - boot_ms_));
  return w.size();
}

void Device::transmit(uint8_t type, uint16_t seq, size_t len) {
  const size_t n = seal_frame(tx_, type, seq, len);
  if (n == 0) return;
  port_.write(tx_, n);
  ++counters.frames_out;
}

}  // namespace kit
