#if defined(__AVR__)
#include "uart_port.h"

#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/sleep.h>

#if defined(USART_RX_vect)  // ATmega328P
#define KIT_UART_RX_VECT USART_RX_vect
#define KIT_UART_UDRE_VECT USART_UDRE_vect
#elif defined(USART0_RX_vect)  // ATmega2560
#define KIT_UART_RX_VECT USART0_RX_vect
#define KIT_UART_UDRE_VECT USART0_UDRE_vect
#else
#error "ClassroomKit's UartPort knows the ATmega328P and ATmega2560"
#endif

namespace kit {
namespace {

static_assert((UartPort::kRxRing & (UartPort::kRxRing - 1)) == 0, "the ring size must be a power of two");
constexpr uint8_t kRingMask = UartPort::kRxRing - 1;

volatile uint8_t rx_ring[UartPort::kRxRing];
volatile uint8_t rx_head = 0;  // written by the interrupt
volatile uint8_t rx_tail = 0;  // written by read()
volatile uint32_t rx_lost = 0;
const uint8_t* volatile tx_next = nullptr;
volatile uint16_t tx_left = 0;
volatile bool tx_busy = false;

}  // namespace

UartPort usb_serial;

void UartPort::begin(uint32_t baud) {
  // Double speed, as the Arduino core does: 115200 baud is 117647 at 16 MHz (2.1 % fast).
  const uint16_t setting = static_cast<uint16_t>((F_CPU / 4 / baud - 1) / 2);
  UCSR0A = _BV(U2X0);
  UBRR0H = static_cast<uint8_t>(setting >> 8);
  UBRR0L = static_cast<uint8_t>(setting);
  UCSR0C = _BV(UCSZ01) | _BV(UCSZ00);  // 8N1
  UCSR0B = _BV(RXEN0) | _BV(TXEN0) | _BV(RXCIE0);
}

size_t UartPort::read(uint8_t* buf, size_t cap) {
  size_t n = 0;
  uint8_t tail = rx_tail;
  while (n < cap && tail != rx_head) {
    buf[n++] = rx_ring[tail];
    tail = (tail + 1) & kRingMask;
  }
  rx_tail = tail;
  return n;
}

bool UartPort::ready() { return !tx_busy; }

void UartPort::write(const uint8_t* data, size_t len) {
  if (len == 0) return;
  tx_next = data;
  tx_left = static_cast<uint16_t>(len);
  tx_busy = true;
  UCSR0B |= _BV(UDRIE0);  // the interrupt takes it from here
}

uint32_t UartPort::lost() const {
  const uint8_t sreg = SREG;
  cli();
  const uint32_t value = rx_lost;
  SREG = sreg;
  return value;
}

void idle() {
  set_sleep_mode(SLEEP_MODE_IDLE);
  sleep_mode();
}

}  // namespace kit

ISR(KIT_UART_RX_VECT) {
  using namespace kit;
  const uint8_t status = UCSR0A;
  const uint8_t byte = UDR0;
  if (status & (_BV(FE0) | _BV(DOR0))) ++rx_lost;  // a garbled byte, or bytes lost before this one
  const uint8_t next = (rx_head + 1) & kRingMask;
  if (next == rx_tail) {
    ++rx_lost;
    return;
  }
  rx_ring[rx_head] = byte;
  rx_head = next;
}

ISR(KIT_UART_UDRE_VECT) {
  using namespace kit;
  UDR0 = *tx_next;
  tx_next = tx_next + 1;
  if (--tx_left == 0) {
    UCSR0B &= static_cast<uint8_t>(~_BV(UDRIE0));
    tx_busy = false;
  }
}
#endif
