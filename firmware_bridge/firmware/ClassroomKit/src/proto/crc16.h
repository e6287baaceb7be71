// CRC-16/CCITT-FALSE (RevEng catalogue: CRC-16/IBM-3740): poly 0x1021, init 0xFFFF,
// not reflected, xorout 0. Check value over ASCII "123456789" is 0x29B1.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace kit {

constexpr uint16_t kCrcInit = 0xFFFF;

// Bitwise on purpose: no 512-byte table in a small board's RAM; 115200 baud is slow.
inline uint16_t crc16_update(uint16_t crc, uint8_t byte) {
  crc = static_cast<uint16_t>(crc ^ (static_cast<uint16_t>(byte) << 8));
  for (uint8_t bit = 0; bit < 8; ++bit) {
    crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021) : static_cast<uint16_t>(crc << 1);
  }
  return crc;
}

uint16_t crc16(const uint8_t* data, size_t len, uint16_t crc = kCrcInit);

}  // namespace kit
