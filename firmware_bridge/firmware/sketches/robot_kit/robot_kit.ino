// Robot kit: ClassroomKit firmware for an Arduino Uno or Nano (ATmega328P) or a Mega 2560 with
// an L298N motor driver, an HC-SR04 ultrasonic sensor, three IR line sensors, a TCS3200
// colour sensor and a latching red emergency-stop button. The button should also cut motor
// power in hardware; the firmware stop is the second line of defence, and the only one when
// the hub goes silent.
//
// Install the ClassroomKit library (firmware_bridge/firmware/ClassroomKit) into
// ~/Arduino/libraries, set KIT_DEVICE_ID, upload. The USB line belongs to the protocol: do
// not use Serial (the library drives the UART itself; a sketch that does fails to link).
// Static RAM on an Uno: about 1.4 KB of the 2 KB (firmware_bridge/firmware/README.md).
#include <ClassroomKit.h>

// Unique per robot in the school: it becomes the hub's device id. `make avr` and the
// emulator tests set these with -D; the defaults are what a school uploads.
#ifndef KIT_DEVICE_ID
#define KIT_DEVICE_ID "robot-1"
#endif
#ifndef KIT_TELEMETRY_MS
#define KIT_TELEMETRY_MS 200
#endif
#ifndef KIT_HEARTBEAT_MS
#define KIT_HEARTBEAT_MS 500
#endif
#ifndef KIT_HOST_TIMEOUT_MS
#define KIT_HOST_TIMEOUT_MS 1500  // motors stop this long after the hub falls silent
#endif
#ifndef KIT_DROP_COMMANDS
#define KIT_DROP_COMMANDS 0  // test knob: lose the first N commands, as a flaky cable would
#endif
#ifndef KIT_DROP_REPLIES
#define KIT_DROP_REPLIES 0  // test knob: lose the answers to the first N commands
#endif

namespace {

const uint8_t PIN_ECHO = 2;  // external interrupt: the echo is timed without blocking
const uint8_t PIN_TRIG = 3, PIN_ESTOP = 4;
const uint8_t PIN_ENA = 5, PIN_ENB = 6, PIN_IN1 = 7, PIN_IN2 = 8, PIN_IN3 = 9, PIN_IN4 = 10;
const uint8_t PIN_COLOUR_S2 = 11, PIN_COLOUR_S3 = 12, PIN_COLOUR_OUT = A3;
const uint8_t PIN_LED = 13;
const uint8_t PIN_LINE_LEFT = A0, PIN_LINE_CENTRE = A1, PIN_LINE_RIGHT = A2;
const uint8_t PIN_BATTERY = A4;  // 2S Li-ion pack through a 10k/10k divider: 3.2..4.2 V at the pin

// Every pin must exist on the board being built for (a DIP Uno has A0..A5 only).
constexpr bool analog_input(uint8_t pin) { return pin >= A0 && pin < A0 + NUM_ANALOG_INPUTS; }
static_assert(digitalPinToInterrupt(PIN_ECHO) != NOT_AN_INTERRUPT, "the echo pin needs an external interrupt");
static_assert(digitalPinHasPWM(PIN_ENA) && digitalPinHasPWM(PIN_ENB), "motor enables need PWM pins");
static_assert(analog_input(PIN_BATTERY) && analog_input(PIN_COLOUR_OUT) && analog_input(PIN_LINE_LEFT) &&
                  analog_input(PIN_LINE_CENTRE) && analog_input(PIN_LINE_RIGHT),
              "an analog pin this board does not have");
static_assert(PIN_LED < NUM_DIGITAL_PINS && PIN_COLOUR_S3 < NUM_DIGITAL_PINS, "a digital pin this board does not have");

volatile uint32_t echo_rise_us = 0;
volatile uint32_t echo_width_us = 0;

void on_echo() {
  if (digitalRead(PIN_ECHO) == HIGH) echo_rise_us = micros();
  else echo_width_us = micros() - echo_rise_us;
}

// One TCS3200 channel: the output's half period in us (shorter = more of that colour), or 0
// after 2 ms. The three channels hold the loop up to 6 ms; the UART keeps receiving meanwhile
// (kit::UartPort holds 11 ms of the line).
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
    if (digitalRead(PIN_LINE_LEFT) == LOW) out.line |= 1;
    if (digitalRead(PIN_LINE_CENTRE) == LOW) out.line |= 2;
    if (digitalRead(PIN_LINE_RIGHT) == LOW) out.line |= 4;
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

const char kDeviceId[] KIT_PROGMEM = KIT_DEVICE_ID;
const char kFirmware[] KIT_PROGMEM = "1.1.0";

RobotPins pins;
kit::RobotKit robot(pins);
const kit::Identity identity{kit::Text(kDeviceId), kit::RobotKit::kind(), kit::Text(kFirmware),
                             kit::RobotKit::commands(), kit::RobotKit::outputs(),
                             KIT_HEARTBEAT_MS, KIT_HOST_TIMEOUT_MS, KIT_TELEMETRY_MS};
kit::Device device(kit::usb_serial, identity, robot);

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
  pinMode(PIN_LINE_LEFT, INPUT);
  pinMode(PIN_LINE_CENTRE, INPUT);
  pinMode(PIN_LINE_RIGHT, INPUT);
  attachInterrupt(digitalPinToInterrupt(PIN_ECHO), on_echo, CHANGE);
  kit::usb_serial.begin(115200);
  device.drop_commands = KIT_DROP_COMMANDS;
  device.drop_replies = KIT_DROP_REPLIES;
  device.begin(millis());
}

void loop() {
  device.poll(millis());
  kit::idle();  // until the next byte or the 1 ms tick
}
