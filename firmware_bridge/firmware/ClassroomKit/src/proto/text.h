// Constant text that lives in program memory on AVR boards and in ordinary memory elsewhere.
// An Uno has 2 KB of RAM and avr-gcc copies every string literal into it unless told
// otherwise, so every key, name and message of the library goes through this type.
//   KIT_TEXT("motor_l")                        inside a function
//   const char kKind[] KIT_PROGMEM = "robot";   at namespace scope, then kit::Text(kKind)
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__AVR__)
#include <avr/pgmspace.h>
#define KIT_PROGMEM PROGMEM
#define KIT_TEXT(s) (::kit::Text(PSTR(s)))
#else
#define KIT_PROGMEM
#define KIT_TEXT(s) (::kit::Text(s))
#endif

namespace kit {

class Text {
 public:
  constexpr Text() : p_(nullptr) {}
  explicit constexpr Text(const char* p) : p_(p) {}

#if defined(__AVR__)
  size_t length() const { return p_ == nullptr ? 0 : strlen_P(p_); }
  uint8_t at(size_t i) const { return pgm_read_byte(p_ + i); }
  void copy(uint8_t* out, size_t len) const { memcpy_P(out, p_, len); }
  bool equals(const uint8_t* data, size_t len) const {
    return length() == len && memcmp_P(data, p_, len) == 0;
  }
#else
  size_t length() const { return p_ == nullptr ? 0 : strlen(p_); }
  uint8_t at(size_t i) const { return static_cast<uint8_t>(p_[i]); }
  void copy(uint8_t* out, size_t len) const { memcpy(out, p_, len); }
  bool equals(const uint8_t* data, size_t len) const { return length() == len && memcmp(data, p_, len) == 0; }
#endif

  // The i-th string of a list packed as "none\0red\0green\0" (the list ends at an empty string).
  Text nth(uint8_t i) const {
    size_t at_byte = 0;
    while (i-- > 0) {
      while (at(at_byte) != 0) ++at_byte;
      ++at_byte;
    }
    return Text(p_ + at_byte);
  }

 private:
  const char* p_;
};

}  // namespace kit
