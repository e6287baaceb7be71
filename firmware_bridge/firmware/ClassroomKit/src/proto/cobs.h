// Consistent Overhead Byte Stuffing (Cheshire & Baker, 1999), canonical encoder:
// a 254-byte block that ends the data is not followed by an empty 0x01 block.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace kit {

// Encodes byte by byte into a caller buffer, so a frame never needs a second raw copy.
class CobsWriter {
 public:
  CobsWriter(uint8_t* out, size_t cap) : out_(out), cap_(cap) {}
  void put(uint8_t byte);
  void put(const uint8_t* data, size_t len) {
    for (size_t i = 0; i < len; ++i) put(data[i]);
  }
  // Writes the last code byte; returns the encoded length, or 0 if `cap` was too small.
  size_t finish();

 private:
  void set(size_t at, uint8_t value) {
    if (at < cap_) out_[at] = value; else overflow_ = true;
  }
  uint8_t* out_;
  size_t cap_;
  size_t code_at_ = 0;
  size_t pos_ = 1;
  uint8_t code_ = 1;
  bool need_code_ = false;
  bool overflow_ = false;
};

// Maximum encoded size of `len` data bytes (no delimiter).
constexpr size_t cobs_max_encoded(size_t len) { return len + len / 254 + 1; }

size_t cobs_encode(const uint8_t* in, size_t len, uint8_t* out, size_t cap);

// Encodes in place: the `len` data bytes start at buf[2] and the encoding is written from
// buf[0], which never overtakes the data still to be read while len <= 508 (at most one
// block is forced by 254 non-zero bytes). Returns the encoded length. No second buffer:
// a frame is built once, in the buffer it is sent from.
size_t cobs_encode_in_place(uint8_t* buf, size_t len);
constexpr size_t kCobsInPlaceOffset = 2;

enum class CobsResult : uint8_t { kOk, kMalformed, kTooLong };

// Decodes one block sequence (no delimiter). Structure is checked over the whole input
// first, so a malformed input reports kMalformed even if it would also overflow `cap`.
CobsResult cobs_decode(const uint8_t* in, size_t len, uint8_t* out, size_t cap, size_t* out_len);

}  // namespace kit
