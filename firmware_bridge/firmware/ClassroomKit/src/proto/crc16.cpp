#include "crc16.h"

namespace kit {

uint16_t crc16(const uint8_t* data, size_t len, uint16_t crc) {
  for (size_t i = 0; i < len; ++i) crc = crc16_update(crc, data[i]);
  return crc;
}

}  // namespace kit
