#include "frame.h"

#include <string.h>

#include "cobs.h"
#include "crc16.h"

namespace kit {

size_t seal_frame(uint8_t* buf, uint8_t type, uint16_t seq, size_t len, uint8_t version) {
  if (len > kMaxPayload) return 0;
  uint8_t* raw = buf + kCobsInPlaceOffset;
  raw[0] = version;
  raw[1] = type;
  raw[2] = static_cast<uint8_t>(seq & 0xFF);
  raw[3] = static_cast<uint8_t>(seq >> 8);
  raw[4] = static_cast<uint8_t>(len);
  const size_t body = kHeaderSize + len;
  const uint16_t crc = crc16(raw, body);
  raw[body] = static_cast<uint8_t>(crc >> 8);  // CRC big-endian: a good frame's CRC is 0
  raw[body + 1] = static_cast<uint8_t>(crc & 0xFF);
  const size_t n = cobs_encode_in_place(buf, body + kCrcSize);
  buf[n] = 0x00;
  return n + 1;
}

size_t encode_frame(uint8_t type, uint16_t seq, const uint8_t* payload, size_t len, uint8_t* out,
                    size_t cap, uint8_t version) {
  if (len > kMaxPayload || cap < kWirePayloadAt + len + kCrcSize) return 0;
  memmove(out + kWirePayloadAt, payload, len);
  return seal_frame(out, type, seq, len, version);
}

void FrameDecoder::restart() {
  encoded_ = 0;
  produced_ = 0;
  crc_ = kCrcInit;
  block_left_ = 0;
  zero_due_ = false;
}

void FrameDecoder::emit(uint8_t byte) {
  if (produced_ < kMaxFrame) {
    raw_[produced_] = byte;
    crc_ = crc16_update(crc_, byte);
  }
  ++produced_;
}

bool FrameDecoder::push(uint8_t byte) {
  if (byte == 0) {
    if (discarding_) {
      discarding_ = false;
      restart();
      return false;
    }
    if (encoded_ == 0) return false;  // back-to-back delimiters
    const bool ok = finish_frame();
    restart();
    return ok;
  }
  if (discarding_) return false;
  if (encoded_ >= kMaxEncoded) {  // no delimiter in time: drop it all up to the next one
    ++counters.oversize;
    discarding_ = true;
    return false;
  }
  ++encoded_;
  if (block_left_ > 0) {
    --block_left_;
    emit(byte);
    return false;
  }
  if (zero_due_) emit(0);  // a code byte follows a short block: the zero it stood for
  block_left_ = static_cast<uint8_t>(byte - 1);
  zero_due_ = byte != 0xFF;
  return false;
}

// Same checks, same order as the host (firmware_bridge/frames.py), so a bad frame is filed
// under the same counter on both sides.
bool FrameDecoder::finish_frame() {
  if (block_left_ != 0) {  // the last code byte pointed past the delimiter
    ++counters.bad_cobs;
    return false;
  }
  if (produced_ < kMinFrame) {
    ++counters.too_short;
    return false;
  }
  if (produced_ > kMaxFrame) {
    ++counters.oversize;
    return false;
  }
  if (crc_ != 0) {
    ++counters.bad_crc;
    return false;
  }
  if (raw_[0] < kProtocolMin || raw_[0] > kProtocolMax) {
    ++counters.bad_version;
    return false;
  }
  // With xorout 0 the CRC stays 0 through zero bytes appended after it; the length does not.
  const size_t payload_len = produced_ - kHeaderSize - kCrcSize;
  if (raw_[4] != payload_len) {
    ++counters.bad_length;
    return false;
  }
  frame_.version = raw_[0];
  frame_.type = raw_[1];
  frame_.seq = static_cast<uint16_t>(raw_[2] | (raw_[3] << 8));
  frame_.payload = raw_ + kHeaderSize;
  frame_.payload_len = payload_len;
  ++counters.frames;
  return true;
}

}  // namespace kit
