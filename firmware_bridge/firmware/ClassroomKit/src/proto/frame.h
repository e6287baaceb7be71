// Frames: version | type | seq (LE) | length | payload | CRC-16 (BE), COBS-encoded, 0x00-delimited.
// See docs/serial-protocol.md in the hub repository.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace kit {

constexpr uint8_t kProtocolVersion = 1;
constexpr uint8_t kProtocolMin = 1;
constexpr uint8_t kProtocolMax = 1;
constexpr size_t kHeaderSize = 5;
constexpr size_t kCrcSize = 2;
constexpr size_t kMaxFrame = 256;
constexpr size_t kMaxPayload = kMaxFrame - kHeaderSize - kCrcSize;  // 249
constexpr size_t kMaxEncoded = kMaxFrame + 2;                       // COBS overhead for 256 bytes
constexpr size_t kMinFrame = kHeaderSize + kCrcSize;
constexpr size_t kMaxWire = kMaxEncoded + 1;                        // plus the 0x00 delimiter

enum FrameType : uint8_t {
  kHello = 0x01,
  kIdentify = 0x02,
  kHeartbeat = 0x03,
  kTelemetry = 0x04,
  kEvent = 0x05,
  kCommand = 0x06,
  kAck = 0x07,
  kNack = 0x08,
  kConsole = 0x09,
};

struct Frame {
  uint8_t version;
  uint8_t type;
  uint16_t seq;
  const uint8_t* payload;
  size_t payload_len;
};

// Writes the wire bytes (COBS + trailing 0x00) into `out`; returns their count, or 0 if the
// payload is over kMaxPayload or `cap` is too small (kMaxWire always suffices).
size_t encode_frame(uint8_t type, uint16_t seq, const uint8_t* payload, size_t len, uint8_t* out,
                    size_t cap, uint8_t version = kProtocolVersion);

struct DecoderCounters {
  uint32_t frames;
  uint32_t bad_cobs;
  uint32_t bad_crc;
  uint32_t oversize;
  uint32_t too_short;
  uint32_t bad_version;
  uint32_t bad_length;
};

// Byte-at-a-time stream decoder with fixed buffers: bad frames are counted and dropped,
// and decoding resynchronises at the next 0x00.
class FrameDecoder {
 public:
  // Returns true when frame() holds a new valid frame; it stays valid until the next push().
  bool push(uint8_t byte);
  const Frame& frame() const { return frame_; }
  size_t buffered() const { return len_; }
  DecoderCounters counters{};

 private:
  bool finish_frame();
  uint8_t encoded_[kMaxEncoded];
  uint8_t raw_[kMaxFrame];
  size_t len_ = 0;
  bool discarding_ = false;
  Frame frame_{};
};

}  // namespace kit
