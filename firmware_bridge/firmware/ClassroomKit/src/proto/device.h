// The board's side of the link: handshake, heartbeats both ways, telemetry schedule, command
// dispatch with a reply cache (a retransmitted seq is answered again, never run twice).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "tlv.h"

namespace kit {

// The serial line. On Arduino: Serial.available()/read()/write(); on Linux: a pty.
class Port {
 public:
  virtual size_t read(uint8_t* buf, size_t cap) = 0;  // non-blocking; 0 if nothing waiting
  virtual void write(const uint8_t* data, size_t len) = 0;
};

struct Identity {
  const char* device_id;
  const char* kind;
  const char* firmware;
  const char* commands;        // comma-separated command names (IDENTIFY "caps")
  const char* outputs;         // comma-separated outputs the "set" command accepts ("outs")
  uint16_t heartbeat_ms;       // how often this board sends HEARTBEAT
  uint16_t host_timeout_ms;    // host silence after which Kit::host_lost() runs
  uint16_t telemetry_ms;       // telemetry period while a session is open
};

enum NackCode : uint8_t {
  kOk = 0,
  kUnknownCommand = 1,
  kBadArgument = 2,
  kRefused = 3,
  kBusy = 4,
  kNoSession = 5,
  kBadPayload = 6,
  kInternal = 7,
};

struct Result {
  uint8_t code;
  const char* error;
  static Result ok() { return Result{kOk, ""}; }
};

class Device;

// What a kit (sensor node, robot) implements; the Device calls it.
class Kit {
 public:
  // `name` is the command's "cmd" item; `args` iterates the items after it.
  virtual Result command(Device& device, const TlvItem& name, TlvReader args, TlvWriter& result,
                         uint32_t now) = 0;
  virtual void telemetry(TlvWriter& out, uint32_t now) = 0;
  virtual void update(Device& device, uint32_t now) = 0;  // every poll: sensors, programs, events
  virtual void host_lost(Device& device, uint32_t now) = 0;
  virtual void session_started(Device& device, uint32_t now) = 0;
};

struct LinkCounters {
  uint32_t frames_out;
  uint32_t unknown_type;
  uint32_t bad_payload;
  uint32_t commands;
  uint32_t duplicates;
  uint32_t test_drops;
};

constexpr uint8_t kReplyCacheSize = 4;
constexpr uint8_t kReplyCap = 48;

class Device {
 public:
  Device(Port& port, const Identity& identity, Kit& kit) : port_(port), id_(identity), kit_(kit) {}

  void begin(uint32_t now);                 // announces the board (IDENTIFY, proto 0)
  void poll(uint32_t now);                  // read, dispatch, send what is due, run the kit
  uint32_t idle_ms(uint32_t now) const;     // time until something is due
  bool send_event(const char* name, const uint8_t* fields, size_t len);
  bool console(const char* text);
  bool in_session() const { return proto_ != 0; }
  bool host_alive() const { return host_alive_; }
  const DecoderCounters& decoder_counters() const { return decoder_.counters; }
  size_t decoder_buffered() const { return decoder_.buffered(); }
  LinkCounters counters{};

  // Test knobs for the host build (a flaky cable on demand): drop the next N commands
  // before they run, or the next N ACK/NACKs after they ran.
  uint16_t drop_commands = 0;
  uint16_t drop_replies = 0;
  void (*extra_telemetry)(TlvWriter& out) = nullptr;

 private:
  struct CachedReply {
    bool used;
    uint16_t seq;
    uint8_t type;
    uint8_t len;
    uint8_t payload[kReplyCap];
  };
  void handle(const Frame& frame, uint32_t now);
  void on_hello(const Frame& frame, uint32_t now);
  void on_command(const Frame& frame, uint32_t now);
  void send_identify(uint32_t now);
  void send_reply(const CachedReply& reply);
  bool send(uint8_t type, uint16_t seq, const uint8_t* payload, size_t len);
  bool send_next(uint8_t type, const uint8_t* payload, size_t len) { return send(type, seq_++, payload, len); }

  Port& port_;
  const Identity& id_;
  Kit& kit_;
  FrameDecoder decoder_;
  uint8_t wire_[kMaxWire];
  uint8_t payload_[kMaxPayload];
  uint16_t seq_ = 0;
  uint8_t proto_ = 0;
  bool host_alive_ = false;
  uint32_t boot_ms_ = 0;
  uint32_t last_host_ms_ = 0;
  uint32_t last_heartbeat_ms_ = 0;
  uint32_t last_telemetry_ms_ = 0;
  CachedReply cache_[kReplyCacheSize] = {};
  uint8_t cache_next_ = 0;
};

}  // namespace kit
