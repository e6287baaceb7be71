// The board's side of the link: handshake, heartbeats both ways, telemetry schedule, command
// dispatch with a reply cache (a retransmitted seq is answered again, never run twice), and
// the board's counters for the `stats` command.
//
// Nothing here waits for the serial line. A frame to send is built only when the port can
// take it (Port::ready()); until then replies wait in the reply cache, an event in a small
// outbox, and heartbeat and telemetry stay due. So the loop keeps reading while a long frame
// goes out, and a board whose port sends in the background (an interrupt-driven UART) never
// lets its receive buffer overflow while it talks.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "text.h"
#include "tlv.h"

namespace kit {

// The serial line. On an AVR board: kit::UartPort (avr/uart_port.h); on Linux: a pty.
class Port {
 public:
  // Up to `cap` bytes that have arrived; never waits.
  virtual size_t read(uint8_t* buf, size_t cap) = 0;
  // True when the line can take a frame now. A port may send in the background: after
  // write() the Device leaves `data` untouched until ready() is true again.
  virtual bool ready() = 0;
  virtual void write(const uint8_t* data, size_t len) = 0;
  // Received bytes the port had to throw away (its buffer was full, or a line error).
  virtual uint32_t lost() const { return 0; }
};

struct Identity {
  Text device_id;
  Text kind;
  Text firmware;
  Text commands;             // comma-separated command names (IDENTIFY "caps")
  Text outputs;              // comma-separated outputs the "set" command accepts ("outs")
  uint16_t heartbeat_ms;     // how often this board sends HEARTBEAT
  uint16_t host_timeout_ms;  // host silence after which Kit::host_lost() runs
  uint16_t telemetry_ms;     // telemetry period while a session is open
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
  // A constructor, not an aggregate: avr-gcc 5.4's LTO crashes on PSTR inside braced
  // aggregate initialisation (Result{code, KIT_TEXT("...")}), and is fine with this.
  constexpr Result() : code(kOk), error() {}
  constexpr Result(uint8_t c, Text e) : code(c), error(e) {}
  static Result ok() { return Result(); }
  uint8_t code;
  Text error;
};

class Device;

// What a kit (sensor node, robot) implements; the Device calls it.
class Kit {
 public:
  // `name` is the command's "cmd" item; `args` iterates the items after it. `result` holds
  // at most kReplyCap bytes.
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
  uint32_t events_dropped;  // an event or console line found the outbox full, or no session
  uint32_t test_drops;
};

constexpr uint8_t kReplyCacheSize = 4;
constexpr uint8_t kReplyCap = 24;   // ACK result bytes kept per cached reply
constexpr uint8_t kOutboxCap = 40;  // one event or console line waiting for the line
// TELEMETRY goes out in parts of at most this many bytes of readings (plus `more`), so that a
// command's ACK never waits behind more than one small frame on the line (~5 ms at 115200
// baud) where a whole robot telemetry frame (143 bytes) held it up to 12 ms.
constexpr uint8_t kTelemetryPart = 40;

class Device {
 public:
  Device(Port& port, const Identity& identity, Kit& kit) : port_(port), id_(identity), kit_(kit) {}

  void begin(uint32_t now);                 // announces the board (IDENTIFY, proto 0)
  void poll(uint32_t now);                  // read, dispatch, send what is due, run the kit
  uint32_t idle_ms(uint32_t now) const;     // time until something is due
  // Events and console lines exist only in a session (docs/serial-protocol.md §6): before
  // HELLO they are dropped, since the first TELEMETRY carries the state they report.
  bool send_event(Text name, const uint8_t* fields, size_t len);
  bool console(Text text);
  bool in_session() const { return proto_ != 0; }
  bool host_alive() const { return host_alive_; }
  const DecoderCounters& decoder_counters() const { return decoder_.counters; }
  size_t decoder_buffered() const { return decoder_.buffered(); }
  LinkCounters counters{};

  // Test knobs for the host build and the emulator tests (a flaky cable on demand): drop the
  // next N commands before they run, or the next N ACK/NACKs after they ran.
  uint16_t drop_commands = 0;
  uint16_t drop_replies = 0;
  void (*extra_telemetry)(TlvWriter& out) = nullptr;

 private:
  enum ReplyFlags : uint8_t { kUsed = 1, kUnsent = 2, kLiveStats = 4 };
  struct Reply {
    uint16_t seq;
    uint8_t flags;
    uint8_t code;     // kOk: ACK with `result`; else NACK code with `error`
    uint8_t len;
    Text error;
    uint8_t result[kReplyCap];
  };
  void receive(uint32_t now);
  bool handle(const Frame& frame, uint32_t now);  // false: needs a free reply slot first
  void on_hello(const Frame& frame, uint32_t now);
  bool on_command(const Frame& frame, uint32_t now);
  Reply* free_reply();
  void send_due(uint32_t now);
  void flush_outbox();
  void send_reply(Reply& reply);
  size_t identify_payload(uint8_t* out, uint32_t now);
  size_t stats_payload(uint8_t* out, uint32_t now);
  void transmit(uint8_t type, uint16_t seq, size_t len);
  uint8_t* tx_payload() { return tx_ + kWirePayloadAt; }

  Port& port_;
  const Identity& id_;
  Kit& kit_;
  FrameDecoder decoder_;
  uint8_t tx_[kMaxWire];
  Reply cache_[kReplyCacheSize] = {};
  uint8_t cache_next_ = 0;
  uint8_t outbox_type_ = 0;  // 0: empty
  uint8_t outbox_len_ = 0;
  uint8_t outbox_[kOutboxCap];
  bool held_ = false;          // decoder_ holds a command that waits for a free reply slot
  bool identify_due_ = false;
  uint16_t seq_ = 0;
  uint8_t proto_ = 0;
  bool host_alive_ = false;
  uint32_t now_ = 0;  // the time of the current poll, for sends outside it (events)
  uint32_t boot_ms_ = 0;
  uint32_t last_host_ms_ = 0;
  uint32_t last_heartbeat_ms_ = 0;
  uint32_t last_telemetry_ms_ = 0;
  uint8_t telemetry_rest_ = 0;  // first item of the telemetry part still to send; 0: none
};

}  // namespace kit
