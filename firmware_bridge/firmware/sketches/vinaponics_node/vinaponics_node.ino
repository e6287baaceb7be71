// Vinaponics sensor node: ClassroomKit firmware for an Arduino Nano or Uno (ATmega328P) or a
// Mega 2560 with analog probes. Install the ClassroomKit library
// (firmware_bridge/firmware/ClassroomKit) into ~/Arduino/libraries, set KIT_DEVICE_ID,
// calibrate the constants below, upload. The USB line belongs to the protocol: do not use
// Serial (the library drives the UART itself; a sketch that does fails to link).
//
// Sensors (all analog, no extra libraries): pH probe + amplifier board, 10k NTC water
// temperature probe, analog dissolved-oxygen probe, analog EC probe, pressure/eTape level
// sensor, TMP36 air temperature, HIH-4030 humidity, TEMT6000 light.
// Outputs: relays for pump, aerator and grow lights; the feeder motor on a relay that turns
// for FEED_MS per portion.
//
// Pins: eight analog inputs on a Nano (A0..A7) or a Mega. The DIP ATmega328P of an Uno R3 has
// six (A0..A5): there humidity and light are not wired and are left out of telemetry.
// Static RAM on an Uno or Nano: about 1 KB of the 2 KB (firmware_bridge/firmware/README.md).
#include <ClassroomKit.h>

// Unique per board: it becomes the hub's device id. One board is one device of the room file,
// its sensors and its outputs together. `make avr` and the emulator tests set these with -D.
#ifndef KIT_DEVICE_ID
#define KIT_DEVICE_ID "vinaponics-1"
#endif
#ifndef KIT_TELEMETRY_MS
#define KIT_TELEMETRY_MS 1000
#endif
#ifndef KIT_HEARTBEAT_MS
#define KIT_HEARTBEAT_MS 500
#endif
#ifndef KIT_HOST_TIMEOUT_MS
#define KIT_HOST_TIMEOUT_MS 3000
#endif
#ifndef KIT_DROP_COMMANDS
#define KIT_DROP_COMMANDS 0  // test knob: lose the first N commands, as a flaky cable would
#endif
#ifndef KIT_DROP_REPLIES
#define KIT_DROP_REPLIES 0  // test knob: lose the answers to the first N commands
#endif

namespace {

const uint8_t PIN_PH = A0, PIN_WATER_TEMP = A1, PIN_DO = A2, PIN_EC = A3, PIN_LEVEL = A4, PIN_AIR_TEMP = A5;
#if NUM_ANALOG_INPUTS >= 8
const bool HAS_HUMIDITY_AND_LIGHT = true;
const uint8_t PIN_HUMIDITY = A6, PIN_LIGHT = A7;
#else
const bool HAS_HUMIDITY_AND_LIGHT = false;
const uint8_t PIN_HUMIDITY = 0, PIN_LIGHT = 0;  // not read
#endif
const uint8_t PIN_PUMP = 5, PIN_AERATOR = 6, PIN_LIGHTS = 7, PIN_FEEDER = 8;

constexpr bool analog_input(uint8_t pin) { return pin >= A0 && pin < A0 + NUM_ANALOG_INPUTS; }
static_assert(analog_input(PIN_PH) && analog_input(PIN_WATER_TEMP) && analog_input(PIN_DO) && analog_input(PIN_EC) &&
                  analog_input(PIN_LEVEL) && analog_input(PIN_AIR_TEMP),
              "an analog pin this board does not have");
static_assert(!HAS_HUMIDITY_AND_LIGHT || (analog_input(PIN_HUMIDITY) && analog_input(PIN_LIGHT)),
              "an analog pin this board does not have");
static_assert(PIN_FEEDER < NUM_DIGITAL_PINS, "a digital pin this board does not have");

// Calibration: adjust with buffer solutions and a reference meter.
const float VREF = 5.0f;
const float PH_NEUTRAL_V = 2.50f;      // amplifier output in pH 7 buffer
const float PH_VOLTS_PER_UNIT = 0.18f; // drop per pH unit (from the pH 4 buffer reading)
const float DO_MG_L_PER_V = 4.8f;      // air-saturated water reading -> mg/L
const float EC_MS_CM_PER_V = 1.0f;     // 1.413 mS/cm standard -> volts
const float LEVEL_EMPTY_V = 0.5f, LEVEL_FULL_V = 4.0f;
const uint32_t FEED_MS = 600;

float volts(uint8_t pin) { return analogRead(pin) * VREF / 1023.0f; }

class NodePins : public kit::VinaponicsHardware {
 public:
  void read(kit::VinaponicsReadings& out, uint32_t now) override {
    if (feeding_until_ != 0 && static_cast<int32_t>(now - feeding_until_) >= 0) {
      digitalWrite(PIN_FEEDER, LOW);
      feeding_until_ = 0;
    }
    // 10k NTC (beta 3950) from 5 V, 10k to ground.
    const float ntc_v = volts(PIN_WATER_TEMP);
    const float ntc_ohm = 10000.0f * (VREF - ntc_v) / (ntc_v > 0.01f ? ntc_v : 0.01f);
    const float water_k = 1.0f / (1.0f / 298.15f + logf(ntc_ohm / 10000.0f) / 3950.0f);
    out.water_temp = water_k - 273.15f;
    out.ph = 7.0f + (PH_NEUTRAL_V - volts(PIN_PH)) / PH_VOLTS_PER_UNIT;
    out.dissolved_oxygen = volts(PIN_DO) * DO_MG_L_PER_V;
    // Conductivity compensated to 25 deg C (2 %/K).
    out.ec = volts(PIN_EC) * EC_MS_CM_PER_V / (1.0f + 0.02f * (out.water_temp - 25.0f));
    out.level = 100.0f * (volts(PIN_LEVEL) - LEVEL_EMPTY_V) / (LEVEL_FULL_V - LEVEL_EMPTY_V);
    out.air_temp = (volts(PIN_AIR_TEMP) - 0.5f) * 100.0f;  // TMP36
    if (HAS_HUMIDITY_AND_LIGHT) {
      const float rh = (volts(PIN_HUMIDITY) / VREF - 0.16f) / 0.0062f;  // HIH-4030
      out.humidity = rh / (1.0546f - 0.00216f * out.air_temp);
      out.light = volts(PIN_LIGHT) * 200.0f;  // TEMT6000 on 10k: 2 uA per lux
    } else {
      out.humidity = NAN;  // left out of telemetry
      out.light = NAN;
    }
  }
  void set_pump(bool on) override { digitalWrite(PIN_PUMP, on ? HIGH : LOW); }
  void set_aerator(bool on) override { digitalWrite(PIN_AERATOR, on ? HIGH : LOW); }
  void set_lights(bool on) override { digitalWrite(PIN_LIGHTS, on ? HIGH : LOW); }
  void feed(uint8_t portions) override {
    digitalWrite(PIN_FEEDER, HIGH);  // runs in the background; read() switches it off
    feeding_until_ = millis() + FEED_MS * portions;
    if (feeding_until_ == 0) feeding_until_ = 1;
  }

 private:
  uint32_t feeding_until_ = 0;
};

const char kDeviceId[] KIT_PROGMEM = KIT_DEVICE_ID;
const char kFirmware[] KIT_PROGMEM = "1.1.0";

NodePins pins;
kit::VinaponicsNode node(pins);
const kit::Identity identity{kit::Text(kDeviceId), kit::VinaponicsNode::kind(), kit::Text(kFirmware),
                             kit::VinaponicsNode::commands(), kit::VinaponicsNode::outputs(),
                             KIT_HEARTBEAT_MS, KIT_HOST_TIMEOUT_MS, KIT_TELEMETRY_MS};
kit::Device device(kit::usb_serial, identity, node);

}  // namespace

void setup() {
  const uint8_t outputs[] = {PIN_PUMP, PIN_AERATOR, PIN_LIGHTS, PIN_FEEDER};
  for (uint8_t pin : outputs) {
    pinMode(pin, OUTPUT);
    digitalWrite(pin, LOW);
  }
  kit::usb_serial.begin(115200);
  device.drop_commands = KIT_DROP_COMMANDS;
  device.drop_replies = KIT_DROP_REPLIES;
  device.begin(millis());
}

void loop() {
  device.poll(millis());
  kit::idle();  // until the next byte or the 1 ms tick
}
