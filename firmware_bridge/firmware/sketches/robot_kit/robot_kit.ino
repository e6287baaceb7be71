// Robot kit: ClassroomKit firmware for an Arduino Uno with an L298N motor driver, an HC-SR04
// ultrasonic sensor, three IR line sensors, a TCS3200 colour sensor and a latching red
// emergency-stop button. The button should also cut motor power in hardware; the firmware
// stop is the second line of defence, and the only one when the hub goes silent.
#include <ClassroomKit.h>

#define KIT_DEVICE_ID "robot-01"

namespace {

const uint8_t PIN_ECHO = 2;  // external interrupt: the echo is timed without blocking
const uint8_t PIN_TRIG = 3, PIN_ESTOP = 4;
const uint8_t PIN_ENA = 5, PIN_ENB = 6, PIN_IN1 = 7, PIN_IN2 = 8, PIN_IN3 = 9, PIN_IN4 = 10;
const uint8_t PIN_COLOUR_S2 = 11, PIN_COLOUR_S3 = 12, PIN_COLOUR_OUT = A3;
const uint8_t PIN_LED = 13;
const uint8_t PIN_LINE[3] = {A0, A1, A2};
const uint8_t PIN_BATTERY = A4;  // 2S Li-ion pack through a 10k/10k divider: 3.2..4.2 V at the pin

volatile uint32_t echo_rise_us = 0;
volatile uint32_t echo_width_us = 0;

void on_echo() {
  if (digitalRead(PIN_ECHO) == HIGH) echo_rise_us = micros();
  else echo_width_us = micros() - echo_rise_us;
}

// One TCS3200 channel: the output's half period in us (shorter = more of that colour).
// At most ~2 ms, so the 64-byte serial buffer (5.5 ms at 115200 baud) cannot overflow.
uint32_t colour_period(bool s2, bool s3) {
  digitalWrite(PIN_COLOUR_S2, s2 ? HIGH : LOW);
  digitalWrite(PIN_COLOUR_S3, s3 ? HIGH : LOW);
  return pulseIn(PIN_COLOUR_OUT, LOW, 2000);
}

uint8_t classify(uint32_t red, uint32_t green, uint32_t blue) {
  if (red == 0 || green == 0 || blue == 0) return kit::kNone;  // timed out: nothing in front
  if (red < 40 && green < 40 && blue < 40) return kit::kWhite;
  if (red > 400 && green > 400 && blue > 400) return kit::kBlack;
  if (red < blue && green < blue && red * 4 > green * 3 && green * 4 > red * 3) return kit::kYellow;
  if (red < green && red < blue) return kit::kRed;
  return green < blue ? kit::kGreen : kit::kBlue;
}

void motor(uint8_t enable, uint8_t in_a, uint8_t in_b, int8_t duty) {
  digitalWrite(in_a, duty > 0 ? HIGH : LOW);
  digitalWrite(in_b, duty < 0 ? HIGH : LOW);
  analogWrite(enable, static_cast<uint8_t>((duty < 0 ? -duty : duty) * 255 / 100));
}

class RobotPins : public kit::RobotHardware {
 public:
  void read(kit::RobotSensors& out, uint32_t now) override {
    (void)now;
    noInterrupts();
    const uint32_t width = echo_width_us;
    interrupts();
    out.distance_cm = width > 0 ? width / 58.0f : 400.0f;
    digitalWrite(PIN_TRIG, HIGH);  // start the next measurement; on_echo() times it
    delayMicroseconds(10);
    digitalWrite(PIN_TRIG, LOW);
    out.line = 0;
    for (uint8_t i = 0; i < 3; ++i) {
      if (digitalRead(PIN_LINE[i]) == LOW) out.line |= static_cast<uint8_t>(1u << i);
    }
    out.colour = classify(colour_period(false, false), colour_period(true, true), colour_period(false, true));
    out.estop_pressed = digitalRead(PIN_ESTOP) == LOW;
    const long millivolts = analogRead(PIN_BATTERY) * 5000L / 1023;  // at the pin, half the pack
    const long percent = (millivolts - 3200) / 10;                   // 3.2 V empty .. 4.2 V full
    out.battery_pct = static_cast<uint8_t>(percent < 0 ? 0 : percent > 100 ? 100 : percent);
  }
  void set_motors(int8_t left, int8_t right) override {
    motor(PIN_ENA, PIN_IN1, PIN_IN2, left);
    motor(PIN_ENB, PIN_IN3, PIN_IN4, right);
  }
  void set_led(bool on) override { digitalWrite(PIN_LED, on ? HIGH : LOW); }
};

class UsbSerial : public kit::Port {
 public:
  size_t read(uint8_t* buf, size_t cap) override {
    size_t n = 0;
    while (n < cap && Serial.available() > 0) buf[n++] = static_cast<uint8_t>(Serial.read());
    return n;
  }
  void write(const uint8_t* data, size_t len) override { Serial.write(data, len); }
};

RobotPins pins;
UsbSerial port;
kit::RobotKit robot(pins);
const kit::Identity identity{KIT_DEVICE_ID, kit::RobotKit::kKind, "1.0.0", kit::RobotKit::kCommands,
                             kit::RobotKit::kOutputs, 500, 1500, 200};
kit::Device device(port, identity, robot);

}  // namespace

void setup() {
  const uint8_t outputs[] = {PIN_TRIG, PIN_ENA, PIN_ENB, PIN_IN1, PIN_IN2, PIN_IN3, PIN_IN4,
                             PIN_COLOUR_S2, PIN_COLOUR_S3, PIN_LED};
  for (uint8_t pin : outputs) {
    pinMode(pin, OUTPUT);
    digitalWrite(pin, LOW);
  }
  pinMode(PIN_ECHO, INPUT);
  pinMode(PIN_ESTOP, INPUT_PULLUP);
  pinMode(PIN_COLOUR_OUT, INPUT);
  for (uint8_t pin : PIN_LINE) pinMode(pin, INPUT);
  attachInterrupt(digitalPinToInterrupt(PIN_ECHO), on_echo, CHANGE);
  Serial.begin(115200);
  device.begin(millis());
}

void loop() { device.poll(millis()); }
