// The USB serial line of an AVR board (USART0 of an Uno, Nano or Mega 2560), driven by
// interrupts: received bytes land in a ring the moment they arrive, whatever the sketch is
// doing, and a frame leaves from the Device's own buffer one byte per data-register-empty
// interrupt, so sending never stops the loop from reading.
//
// It replaces Arduino's Serial, which offers a 64-byte receive buffer (a long command is lost
// while the board sends its telemetry) and copies every frame into a second buffer. The two
// cannot share USART0: a sketch that also uses Serial fails to link ("multiple definition of
// __vector_18"), as it should, since only frames may cross the line.
#pragma once
#if defined(__AVR__)
#include <stddef.h>
#include <stdint.h>

#include "../proto/device.h"

namespace kit {

class UartPort : public Port {
 public:
  // Bytes that may wait unread. The loop drains the ring at least every few milliseconds
  // (the robot's colour reading is the longest pause, about 6 ms = 70 bytes at 115200 baud);
  // the rest is margin. A power of two, so the interrupt wraps with a mask.
  static constexpr uint8_t kRxRing = 128;

  void begin(uint32_t baud);
  size_t read(uint8_t* buf, size_t cap) override;
  bool ready() override;
  void write(const uint8_t* data, size_t len) override;
  uint32_t lost() const override;  // ring full, overrun or framing errors
};

extern UartPort usb_serial;

// Sleeps (idle mode) until the next interrupt: a received byte, the end of a sent one, or the
// core's 1 ms timer tick. Call it at the end of loop(): the board answers as fast as before and
// spends the rest of its time asleep (less heat and battery; and the emulator skips the time).
void idle();

}  // namespace kit
#endif
