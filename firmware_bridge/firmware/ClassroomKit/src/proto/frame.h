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

// A frame is built in place in a kMaxWire-byte buffer: the payload is written at
// kWirePayloadAt, then seal_frame() adds header and CRC around it, COBS-encodes the lot in
// place from buf[0] and appends the delimiter. Returns the wire length, or 0 if `len` is
// over kMaxPayload. One buffer per direction is all a board needs.
constexpr size_t kWirePayloadAt = 2 + kHeaderSize;
size_t seal_frame(uint8_t* buf, uint8_t type, uint16_t seq, size_t len, uint8_t version = kProtocolVersion);

// Writes the wire bytes (COBS + trailing 0x00) into `out`; returns their count, or 0 if the
// payload is over kMaxPayload or `cap` is under kWirePayloadAt + len + 2 (kMaxWire always suffices).
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

// Byte-at-a-time stream decoder. COBS is undone and the CRC computed as the bytes arrive, so
// it holds only the decoded frame (256 bytes), never the encoded one. Bad frames are counted
// under the reasons of docs/serial-protocol.md §2, in the same order as the host's decoder,
// and decoding resynchronises at the next 0x00.
class FrameDecoder {
 public:
  // Returns true when frame() holds a new valid frame; it stays valid until the next push().
  bool push(uint8_t byte);
  const Frame& frame() const { return frame_; }
  size_t buffered() const { return discarding_ ? 0 : encoded_; }  // encoded bytes since the last 0x00
  DecoderCounters counters{};

 private:
  void emit(uint8_t byte);
  bool finish_frame();
  void restart();
  uint8_t raw_[kMaxFrame];
  uint16_t encoded_ = 0;   // encoded bytes of the frame so far
  uint16_t produced_ = 0;  // decoded bytes, counted on past kMaxFrame (then: oversize)
  uint16_t crc_ = 0xFFFF;
  uint8_t block_left_ = 0; // data bytes left in the current COBS block
  bool zero_due_ = false;  // the block before ended short of 254: a zero precedes more data
  bool discarding_ = false;
  Frame frame_{};
};

}  // namespace kit
