#include "device.h"

#include <string.h>

namespace kit {
namespace {

bool due(uint32_t now, uint32_t last, uint32_t period) { return static_cast<uint32_t>(now - last) >= period; }

uint32_t remaining(uint32_t now, uint32_t last, uint32_t period) {
  const uint32_t elapsed = now - last;
  return elapsed >= period ? 0 : period - elapsed;
}

}  // namespace

void Device::begin(uint32_t now) {
  boot_ms_ = now;
  last_heartbeat_ms_ = now;
  last_telemetry_ms_ = now;
  send_identify(now);  // proto_ is 0: "I just booted", a running host says HELLO again
}

void Device::poll(uint32_t now) {
  uint8_t chunk[32];
  size_t n;
  while ((n = port_.read(chunk, sizeof chunk)) > 0) {
    for (size_t i = 0; i < n; ++i) {
      if (decoder_.push(chunk[i])) handle(decoder_.frame(), now);
    }
  }
  if (in_session() && host_alive_ && due(now, last_host_ms_, id_.host_timeout_ms)) {
    host_alive_ = false;
    kit_.host_lost(*this, now);
  }
  kit_.update(*this, now);  // before telemetry, so a frame never carries stale or unread sensors
  if (!in_session()) return;
  if (due(now, last_heartbeat_ms_, id_.heartbeat_ms)) {
    last_heartbeat_ms_ = now;
    TlvWriter w(payload_, sizeof payload_);
    w.put_int("up", static_cast<int32_t>((now - boot_ms_) & 0x7FFFFFFF));
    send_next(kHeartbeat, w.data(), w.size());
  }
  if (due(now, last_telemetry_ms_, id_.telemetry_ms)) {
    last_telemetry_ms_ = now;
    TlvWriter w(payload_, sizeof payload_);
    kit_.telemetry(w, now);
    w.put_bool("host", host_alive_);
    if (extra_telemetry != nullptr) extra_telemetry(w);
    send_next(kTelemetry, w.data(), w.size());
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

void Device::handle(const Frame& frame, uint32_t now) {
  switch (frame.type) {
    case kHello:
      on_hello(frame, now);
      break;
    case kHeartbeat:
      break;
    case kCommand:
      on_command(frame, now);
      break;
    case kIdentify:
    case kTelemetry:
    case kEvent:
    case kAck:
    case kNack:
    case kConsole:
      return;  // board-to-host types: an echo or a confused peer, not the host
    default:
      ++counters.unknown_type;
      return;
  }
  last_host_ms_ = now;
  if (in_session() && !host_alive_) host_alive_ = true;
}

void Device::on_hello(const Frame& frame, uint32_t now) {
  TlvReader reader(frame.payload, frame.payload_len);
  TlvItem pmin, pmax;
  if (!reader.valid() || !reader.find("pmin", pmin) || !reader.find("pmax", pmax) ||
      pmin.tag != kTagInt || pmax.tag != kTagInt) {
    ++counters.bad_payload;
    return;
  }
  const int32_t low = pmin.i > kProtocolMin ? pmin.i : kProtocolMin;
  const int32_t high = pmax.i < kProtocolMax ? pmax.i : kProtocolMax;
  proto_ = low <= high ? static_cast<uint8_t>(high) : 0;
  memset(cache_, 0, sizeof cache_);  // a new session: the host's seq numbers start over
  send_identify(now);
  if (in_session()) {
    host_alive_ = true;
    last_host_ms_ = now;
    last_heartbeat_ms_ = now;
    last_telemetry_ms_ = now - id_.telemetry_ms;  // first telemetry right away
    kit_.session_started(*this, now);
  }
}

void Device::on_command(const Frame& frame, uint32_t now) {
  if (!in_session()) {
    uint8_t buf[kReplyCap];
    TlvWriter w(buf, sizeof buf);
    w.put_int("code", kNoSession).put_str("err", "no_session");
    send(kNack, frame.seq, w.data(), w.size());
    return;
  }
  if (drop_commands > 0) {
    --drop_commands;
    ++counters.test_drops;
    return;
  }
  for (const CachedReply& cached : cache_) {
    if (cached.used && cached.seq == frame.seq) {
      ++counters.duplicates;
      send_reply(cached);
      return;
    }
  }
  ++counters.commands;
  CachedReply& reply = cache_[cache_next_];
  cache_next_ = static_cast<uint8_t>((cache_next_ + 1) % kReplyCacheSize);
  reply.used = true;
  reply.seq = frame.seq;
  TlvWriter result(reply.payload, sizeof reply.payload);
  TlvReader args(frame.payload, frame.payload_len);
  TlvItem name;
  Result outcome;
  if (!args.valid() || !args.next(name) || !name.is("cmd") || name.tag != kTagStr) {
    ++counters.bad_payload;
    outcome = Result{kBadPayload, "bad_payload"};
  } else {
    outcome = kit_.command(*this, name, args, result, now);
    if (outcome.code == kOk && !result.ok()) outcome = Result{kInternal, "result_too_large"};
  }
  if (outcome.code == kOk) {
    reply.type = kAck;
  } else {
    reply.type = kNack;
    result.clear();
    size_t err_len = strlen(outcome.error);
    if (err_len > 32) err_len = 32;
    result.put_int("code", outcome.code)
        .put_str("err", reinterpret_cast<const uint8_t*>(outcome.error), err_len);
  }
  reply.len = static_cast<uint8_t>(result.size());
  if (drop_replies > 0) {
    --drop_replies;
    ++counters.test_drops;
    return;
  }
  send_reply(reply);
}

void Device::send_reply(const CachedReply& reply) { send(reply.type, reply.seq, reply.payload, reply.len); }

void Device::send_identify(uint32_t now) {
  TlvWriter w(payload_, sizeof payload_);
  w.put_str("id", id_.device_id)
      .put_str("kind", id_.kind)
      .put_str("fw", id_.firmware)
      .put_int("pmin", kProtocolMin)
      .put_int("pmax", kProtocolMax)
      .put_int("proto", proto_)
      .put_int("hb", id_.heartbeat_ms)
      .put_int("hbto", id_.host_timeout_ms)
      .put_int("up", static_cast<int32_t>((now - boot_ms_) & 0x7FFFFFFF))
      .put_str("caps", id_.commands)
      .put_str("outs", id_.outputs);
  send_next(kIdentify, w.data(), w.size());
}

bool Device::send_event(const char* name, const uint8_t* fields, size_t len) {
  TlvWriter w(payload_, sizeof payload_);
  w.put_str("event", name);
  if (!w.ok() || w.size() + len > sizeof payload_) return false;
  memcpy(payload_ + w.size(), fields, len);
  return send_next(kEvent, payload_, w.size() + len);
}

bool Device::console(const char* text) {
  size_t len = strlen(text);
  if (len > kMaxPayload) len = kMaxPayload;
  return send_next(kConsole, reinterpret_cast<const uint8_t*>(text), len);
}

bool Device::send(uint8_t type, uint16_t seq, const uint8_t* payload, size_t len) {
  const size_t n = encode_frame(type, seq, payload, len, wire_, sizeof wire_);
  if (n == 0) return false;
  port_.write(wire_, n);
  ++counters.frames_out;
  return true;
}

}  // namespace kit
