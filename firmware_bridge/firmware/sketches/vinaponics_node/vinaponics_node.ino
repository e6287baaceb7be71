// Vinaponics sensor node: ClassroomKit firmware for an Arduino Mega 2560 (or Uno) with
// analog probes. Install the ClassroomKit library (firmware_bridge/firmware/ClassroomKit)
// into ~/Arduino/libraries, set KIT_DEVICE_ID, calibrate the constants below, upload.
//
// Sensors (all analog, no extra libraries): pH probe + amplifier board, 10k NTC water
// temperature probe, analog dissolved-oxygen probe, analog EC probe, pressure/eTape level
// sensor, TMP36 air temperature, HIH-4030 humidity, TEMT6000 light.
// Outputs: relays for pump, aerator and grow lights; the feeder motor on a relay that turns
// for FEED_MS per portion.
#include <ClassroomKit.h>

#define KIT_DEVICE_ID "vina-01"  // unique per board: it becomes the hub's device id

namespace {

const uint8_t PIN_PH = A0, PIN_WATER_TEMP = A1, PIN_DO = A2, PIN_EC = A3, PIN_LEVEL = A4,
              PIN_AIR_TEMP = A5, PIN_HUMIDITY = A6, PIN_LIGHT = A7;
const uint8_t PIN_PUMP = 5, PIN_AERATOR = 6, PIN_LIGHTS = 7, PIN_FEEDER = 8;

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
    const float rh = (volts(PIN_HUMIDITY) / VREF - 0.16f) / 0.0062f;  // HIH-4030
    out.humidity = rh / (1.0546f - 0.00216f * out.air_temp);
    out.light = volts(PIN_LIGHT) * 200.0f;  // TEMT6000 on 10k: 2 uA per lux
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

class UsbSerial : public kit::Port {
 public:
  size_t read(uint8_t* buf, size_t cap) override {
    size_t n = 0;
    while (n < cap && Serial.available() > 0) buf[n++] = static_cast<uint8_t>(Serial.read());
    return n;
  }
  void write(const uint8_t* data, size_t len) override { Serial.write(data, len); }
};

NodePins pins;
UsbSerial port;
kit::VinaponicsNode node(pins);
const kit::Identity identity{KIT_DEVICE_ID, kit::VinaponicsNode::kKind, "1.0.0",
                             kit::VinaponicsNode::kCommands, kit::VinaponicsNode::kOutputs,
                             500, 3000, 1000};
kit::Device device(port, identity, node);

}  // namespace

void setup() {
  const uint8_t outputs[] = {PIN_PUMP, PIN_AERATOR, PIN_LIGHTS, PIN_FEEDER};
  for (uint8_t pin : outputs) {
    pinMode(pin, OUTPUT);
    digitalWrite(pin, LOW);
  }
  Serial.begin(115200);
  device.begin(millis());
}

void loop() { device.poll(millis()); }
