#include "frame.h"

#include "cobs.h"
#include "crc16.h"

namespace kit {

size_t encode_frame(uint8_t type, uint16_t seq, const uint8_t* payload, size_t len, uint8_t* out,
                    size_t cap, uint8_t version) {
  if (len > kMaxPayload || cap < 1) return 0;
  const uint8_t header[kHeaderSize] = {version, type, static_cast<uint8_t>(seq & 0xFF),
                                       static_cast<uint8_t>(seq >> 8), static_cast<uint8_t>(len)};
  CobsWriter writer(out, cap - 1);
  uint16_t crc = crc16(header, kHeaderSize);
  crc = crc16(payload, len, crc);
  writer.put(header, kHeaderSize);
  writer.put(payload, len);
  writer.put(static_cast<uint8_t>(crc >> 8));  // CRC big-endian: a good frame's CRC is 0
  writer.put(static_cast<uint8_t>(crc & 0xFF));
  const size_t n = writer.finish();
  if (n == 0) return 0;
  out[n] = 0x00;
  return n + 1;
}

bool FrameDecoder::push(uint8_t byte) {
  if (byte != 0) {
    if (discarding_) return false;
    if (len_ >= kMaxEncoded) {  // no delimiter in time: drop it all up to the next one
      ++counters.oversize;
      discarding_ = true;
      len_ = 0;
      return false;
    }
    encoded_[len_++] = byte;
    return false;
  }
  if (discarding_) {
    discarding_ = false;
    return false;
  }
  if (len_ == 0) return false;  // back-to-back delimiters
  return finish_frame();
}

bool FrameDecoder::finish_frame() {
  const size_t encoded_len = len_;
  len_ = 0;
  size_t raw_len = 0;
  switch (cobs_decode(encoded_, encoded_len, raw_, kMaxFrame, &raw_len)) {
    case CobsResult::kMalformed:
      ++counters.bad_cobs;
      return false;
    case CobsResult::kTooLong:
      ++counters.oversize;
      return false;
    case CobsResult::kOk:
      break;
  }
  if (raw_len < kMinFrame) {
    ++counters.too_short;
    return false;
  }
  if (crc16(raw_, raw_len) != 0) {
    ++counters.bad_crc;
    return false;
  }
  if (raw_[0] < kProtocolMin || raw_[0] > kProtocolMax) {
    ++counters.bad_version;
    return false;
  }
  // With xorout 0 the CRC stays 0 through zero bytes appended after it; the length does not.
  if (raw_[4] != raw_len - kHeaderSize - kCrcSize) {
    ++counters.bad_length;
    return false;
  }
  frame_.version = raw_[0];
  frame_.type = raw_[1];
  frame_.seq = static_cast<uint16_t>(raw_[2] | (raw_[3] << 8));
  frame_.payload = raw_ + kHeaderSize;
  frame_.payload_len = raw_len - kHeaderSize - kCrcSize;
  ++counters.frames;
  return true;
}

}  // namespace kit
