// TLV payload items: key length (1..24) | key [a-z0-9_] | tag | value.
// Tags: 'i' int32 LE, 'f' float32 LE (finite), 'b' one byte 0/1, 's' u8 length + UTF-8.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "text.h"

namespace kit {

constexpr uint8_t kTagInt = 'i';
constexpr uint8_t kTagFloat = 'f';
constexpr uint8_t kTagBool = 'b';
constexpr uint8_t kTagStr = 's';
constexpr size_t kMaxKey = 24;

class TlvWriter {
 public:
  TlvWriter(uint8_t* buf, size_t cap) : buf_(buf), cap_(cap) {}
  // Each put appends one item, or leaves the buffer as it was and clears ok() if it cannot.
  TlvWriter& put_int(Text key, int32_t value);
  TlvWriter& put_float(Text key, float value);  // a NaN or infinite value clears ok()
  TlvWriter& put_bool(Text key, bool value);
  TlvWriter& put_str(Text key, Text value);
  TlvWriter& put_str(Text key, const uint8_t* value, size_t len);
  bool ok() const { return ok_; }
  size_t size() const { return len_; }
  const uint8_t* data() const { return buf_; }
  void clear() { len_ = 0; ok_ = true; }

  // One part of a payload too long to send in one small frame (TELEMETRY, see
  // Device::send_due): the writer passes over the first `skip` items (an earlier part sent
  // them) and keeps items while they total at most `part_cap` bytes (the first one always);
  // the first item that does not fit and every item after it are left for a later part.
  // Then rest() is that item's index (0: the part holds the payload's last item), and
  // end_window() lets the writer append normally again.
  void window(uint8_t skip, uint8_t part_cap) {
    skip_ = skip;
    part_cap_ = part_cap;
    items_ = 0;
    rest_ = 0;
  }
  uint8_t rest() const { return rest_; }
  TlvWriter& end_window() {
    part_cap_ = 0;
    skip_ = 0;
    return *this;
  }

 private:
  bool begin(Text key, uint8_t tag, size_t value_len);
  bool in_window(size_t item_len);
  void put_u32(uint32_t value);
  uint8_t* buf_;
  size_t cap_;
  size_t len_ = 0;
  bool ok_ = true;
  uint8_t part_cap_ = 0;  // 0: no window, every item is written
  uint8_t skip_ = 0;
  uint8_t items_ = 0;  // items offered since window()
  uint8_t rest_ = 0;
};

struct TlvItem {
  const uint8_t* key;
  uint8_t key_len;
  uint8_t tag;
  int32_t i;
  float f;
  bool b;
  const uint8_t* s;
  uint8_t s_len;
  bool is(Text name) const { return name.equals(key, key_len); }
  bool str_is(Text text) const { return tag == kTagStr && text.equals(s, s_len); }
  bool number(float* out) const;            // int or float value as float
};

class TlvReader {
 public:
  TlvReader(const uint8_t* data, size_t len) : data_(data), len_(len) {}
  // Next item; false at the end or at a malformed item (then error() is true).
  bool next(TlvItem& item);
  bool error() const { return error_; }
  bool at_end() const { return pos_ >= len_; }
  // True if every item from the current position on is well formed.
  bool valid() const;
  // Finds `key` from the start of the payload.
  bool find(Text key, TlvItem& item) const;

 private:
  const uint8_t* data_;
  size_t len_;
  size_t pos_ = 0;
  bool error_ = false;
};

}  // namespace kit
