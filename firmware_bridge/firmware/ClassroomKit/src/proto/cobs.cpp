#include "cobs.h"

namespace kit {

void CobsWriter::put(uint8_t byte) {
  if (need_code_) {  // the previous block was a full 0xFF block and more data follows
    code_at_ = pos_++;
    code_ = 1;
    need_code_ = false;
  }
  if (byte == 0) {
    set(code_at_, code_);
    code_at_ = pos_++;
    code_ = 1;
    return;
  }
  set(pos_++, byte);
  if (++code_ == 0xFF) {
    set(code_at_, 0xFF);
    need_code_ = true;
  }
}

size_t CobsWriter::finish() {
  if (!need_code_) set(code_at_, code_);
  return overflow_ ? 0 : pos_;
}

size_t cobs_encode(const uint8_t* in, size_t len, uint8_t* out, size_t cap) {
  CobsWriter writer(out, cap);
  writer.put(in, len);
  return writer.finish();
}

size_t cobs_encode_in_place(uint8_t* buf, size_t len) {
  // Reading buf[2 + i] always happens before buf[out] is written, and out <= 2 + i.
  CobsWriter writer(buf, kCobsInPlaceOffset + len);
  for (size_t i = 0; i < len; ++i) writer.put(buf[kCobsInPlaceOffset + i]);
  return writer.finish();
}

CobsResult cobs_decode(const uint8_t* in, size_t len, uint8_t* out, size_t cap, size_t* out_len) {
  *out_len = 0;
  if (len == 0) return CobsResult::kMalformed;
  size_t pos = 0;
  size_t produced = 0;
  bool too_long = false;
  while (pos < len) {
    const uint8_t code = in[pos];
    if (code == 0) return CobsResult::kMalformed;
    const size_t end = pos + code;
    if (end > len) return CobsResult::kMalformed;
    for (size_t i = pos + 1; i < end; ++i) {
      if (in[i] == 0) return CobsResult::kMalformed;
      if (produced < cap) out[produced] = in[i]; else too_long = true;
      ++produced;
    }
    pos = end;
    if (code != 0xFF && pos < len) {
      if (produced < cap) out[produced] = 0; else too_long = true;
      ++produced;
    }
  }
  if (too_long) return CobsResult::kTooLong;
  *out_len = produced;
  return CobsResult::kOk;
}

}  // namespace kit
