// Declarations of the few Arduino core functions the sketches use, so `make sketch-check`
// can type-check them on a machine without an Arduino toolchain. Nothing is defined: the
// sketches are compiled with -fsyntax-only and never linked or run against this file.
#pragma once
#include <math.h>
#include <stddef.h>
#include <stdint.h>

enum : uint8_t { LOW = 0, HIGH = 1, INPUT = 0, OUTPUT = 1, INPUT_PULLUP = 2, CHANGE = 1, FALLING = 2, RISING = 3 };
enum : uint8_t { A0 = 54, A1, A2, A3, A4, A5, A6, A7 };

struct HardwareSerial {
  void begin(unsigned long baud);
  int available();
  int read();
  size_t write(const uint8_t* data, size_t len);
};
extern HardwareSerial Serial;

void pinMode(uint8_t pin, uint8_t mode);
void digitalWrite(uint8_t pin, uint8_t value);
int digitalRead(uint8_t pin);
int analogRead(uint8_t pin);
void analogWrite(uint8_t pin, int value);
unsigned long millis();
unsigned long micros();
void delayMicroseconds(unsigned int us);
unsigned long pulseIn(uint8_t pin, uint8_t state, unsigned long timeout);
int digitalPinToInterrupt(uint8_t pin);
void attachInterrupt(int interrupt, void (*isr)(), int mode);
void noInterrupts();
void interrupts();
