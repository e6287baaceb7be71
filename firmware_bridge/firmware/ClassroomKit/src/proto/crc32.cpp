#include "crc32.h"

namespace kit {

// Bitwise, like crc16: a 1 KB table does not fit a small board's RAM.
uint32_t crc32_update(uint32_t state, const uint8_t* data, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    state ^= data[i];
    for (uint8_t bit = 0; bit < 8; ++bit) state = (state & 1u) ? (state >> 1) ^ 0xEDB88320u : state >> 1;
  }
  return state;
}

}  // namespace kit
