#include "tlv.h"

#include <string.h>

namespace kit {
namespace {

bool key_char_ok(uint8_t c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }

uint32_t float_bits(float value) {
  uint32_t bits;
  static_assert(sizeof(float) == 4, "float must be IEEE 754 binary32");
  memcpy(&bits, &value, 4);
  return bits;
}

bool finite_bits(uint32_t bits) { return ((bits >> 23) & 0xFF) != 0xFF; }

uint32_t read_u32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

}  // namespace

// Whether an item of `item_len` bytes belongs to this part (always true without a window).
bool TlvWriter::in_window(size_t item_len) {
  if (part_cap_ == 0) return true;
  const uint8_t index = items_;
  if (items_ < 255) ++items_;
  if (index < skip_ || rest_ != 0) return false;
  if (len_ > 0 && len_ + item_len > part_cap_) {
    rest_ = index;
    return false;
  }
  return true;
}

bool TlvWriter::begin(Text key, uint8_t tag, size_t value_len) {
  if (!ok_) return false;
  const size_t key_len = key.length();
  if (!in_window(2 + key_len + value_len)) return false;
  bool key_ok = key_len >= 1 && key_len <= kMaxKey;
  for (size_t i = 0; key_ok && i < key_len; ++i) key_ok = key_char_ok(key.at(i));
  if (!key_ok || len_ + 2 + key_len + value_len > cap_) {
    ok_ = false;
    return false;
  }
  buf_[len_++] = static_cast<uint8_t>(key_len);
  key.copy(buf_ + len_, key_len);
  len_ += key_len;
  buf_[len_++] = tag;
  return true;
}

void TlvWriter::put_u32(uint32_t value) {
  for (uint8_t i = 0; i < 4; ++i) buf_[len_++] = static_cast<uint8_t>(value >> (8 * i));
}

TlvWriter& TlvWriter::put_int(Text key, int32_t value) {
  if (begin(key, kTagInt, 4)) put_u32(static_cast<uint32_t>(value));
  return *this;
}

TlvWriter& TlvWriter::put_float(Text key, float value) {
  const uint32_t bits = float_bits(value);
  if (!finite_bits(bits)) {
    ok_ = false;
    return *this;
  }
  if (begin(key, kTagFloat, 4)) put_u32(bits);
  return *this;
}

TlvWriter& TlvWriter::put_bool(Text key, bool value) {
  if (begin(key, kTagBool, 1)) buf_[len_++] = value ? 1 : 0;
  return *this;
}

TlvWriter& TlvWriter::put_str(Text key, Text value) {
  const size_t len = value.length();
  if (len > 255) {
    ok_ = false;
    return *this;
  }
  if (begin(key, kTagStr, 1 + len)) {
    buf_[len_++] = static_cast<uint8_t>(len);
    value.copy(buf_ + len_, len);
    len_ += len;
  }
  return *this;
}

TlvWriter& TlvWriter::put_str(Text key, const uint8_t* value, size_t len) {
  if (len > 255) {
    ok_ = false;
    return *this;
  }
  if (begin(key, kTagStr, 1 + len)) {
    buf_[len_++] = static_cast<uint8_t>(len);
    memcpy(buf_ + len_, value, len);
    len_ += len;
  }
  return *this;
}

bool TlvItem::number(float* out) const {
  if (tag == kTagInt) *out = static_cast<float>(i);
  else if (tag == kTagFloat) *out = f;
  else return false;
  return true;
}

bool TlvReader::next(TlvItem& item) {
  if (error_ || pos_ >= len_) return false;
  const size_t key_len = data_[pos_];
  const size_t key_end = pos_ + 1 + key_len;
  if (key_len == 0 || key_len > kMaxKey || key_end >= len_) {
    error_ = true;
    return false;
  }
  for (size_t k = pos_ + 1; k < key_end; ++k) {
    if (!key_char_ok(data_[k])) {
      error_ = true;
      return false;
    }
  }
  item = TlvItem{};
  item.key = data_ + pos_ + 1;
  item.key_len = static_cast<uint8_t>(key_len);
  item.tag = data_[key_end];
  const size_t value_at = key_end + 1;
  size_t end = 0;
  switch (item.tag) {
    case kTagInt:
    case kTagFloat: {
      end = value_at + 4;
      if (end > len_) break;
      const uint32_t bits = read_u32(data_ + value_at);
      if (item.tag == kTagInt) {
        item.i = static_cast<int32_t>(bits);
      } else {
        if (!finite_bits(bits)) { end = 0; break; }
        memcpy(&item.f, &bits, 4);
      }
      break;
    }
    case kTagBool:
      end = value_at + 1;
      if (end > len_ || data_[value_at] > 1) { end = 0; break; }
      item.b = data_[value_at] == 1;
      break;
    case kTagStr:
      if (value_at >= len_) break;
      end = value_at + 1 + data_[value_at];
      if (end > len_) { end = 0; break; }
      item.s = data_ + value_at + 1;
      item.s_len = data_[value_at];
      break;
    default:
      break;
  }
  if (end == 0 || end > len_) {
    error_ = true;
    return false;
  }
  pos_ = end;
  return true;
}

bool TlvReader::valid() const {
  TlvReader copy = *this;
  TlvItem item;
  while (copy.next(item)) {
  }
  return !copy.error();
}

bool TlvReader::find(Text key, TlvItem& item) const {
  TlvReader scan(data_, len_);
  TlvItem candidate;
  bool found = false;
  while (scan.next(candidate)) {
    if (candidate.is(key)) {  // a repeated key keeps its last value, as on the host
      item = candidate;
      found = true;
    }
  }
  return found && !scan.error();
}

}  // namespace kit
