// Vinaponics sensor node: water and air sensors in, pump / aerator / grow lights / feeder out.
#pragma once
#include <stdint.h>

#include "../proto/device.h"

namespace kit {

// NaN: the board has no such sensor, or it failed (left out of telemetry).
struct VinaponicsReadings {
  float ph;
  float water_temp;        // deg C
  float dissolved_oxygen;  // mg/L
  float ec;                // mS/cm
  float level;             // tank level, % of full
  float air_temp;          // deg C
  float humidity;          // % RH
  float light;             // lux
};

// The board's pins; an Arduino sketch or the host simulator implements it.
class VinaponicsHardware {
 public:
  virtual void read(VinaponicsReadings& out, uint32_t now) = 0;
  virtual void set_pump(bool on) = 0;
  virtual void set_aerator(bool on) = 0;
  virtual void set_lights(bool on) = 0;
  virtual void feed(uint8_t portions) = 0;
};

class VinaponicsNode : public Kit {
 public:
  static Text kind();      // "vinaponics"
  static Text commands();  // IDENTIFY "caps"
  static Text outputs();   // IDENTIFY "outs": what `set` accepts
  static constexpr float kLevelLow = 20.0f;    // % : "level_low" event below this
  static constexpr float kLevelOk = 25.0f;     // % : and re-armed above this
  static constexpr uint8_t kMaxPortions = 5;

  explicit VinaponicsNode(VinaponicsHardware& hardware) : hw_(hardware) {}

  Result command(Device& device, const TlvItem& name, TlvReader args, TlvWriter& result,
                 uint32_t now) override;
  void telemetry(TlvWriter& out, uint32_t now) override;
  void update(Device& device, uint32_t now) override;
  void host_lost(Device& device, uint32_t now) override;
  void session_started(Device& device, uint32_t now) override;

  bool pump() const { return pump_; }

 private:
  Result set_outputs(TlvReader args);
  VinaponicsHardware& hw_;
  VinaponicsReadings readings_{};
  bool have_readings_ = false;
  uint32_t last_read_ms_ = 0;
  bool pump_ = false;
  bool aerator_ = false;
  bool lights_ = false;
  bool level_low_ = false;
  int32_t portions_fed_ = 0;
};

}  // namespace kit
