// Simulated sensors and actuators for the host build: plausible, slowly drifting values
// that react to the outputs (aerator raises dissolved oxygen, grow lights raise lux...).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "../ClassroomKit/src/kits/robot.h"
#include "../ClassroomKit/src/kits/vinaponics.h"

namespace sim {

class Random {
 public:
  explicit Random(uint32_t seed) : state_(seed ? seed : 0x9E3779B9u) {}
  uint32_t next();
  float uniform(float low, float high);  // [low, high)
  float noise(float amplitude) { return uniform(-amplitude, amplitude); }

 private:
  uint32_t state_;
};

// Test control of the simulated hardware ("--sim-stdin"): a line "key value" pins a reading
// to that value until "key -" lets the simulation move it again. Returns false for an
// unknown key or a value that does not parse.
bool parse_control(const char* line, char* key, size_t key_cap, float* value, bool* release);

// Moves toward a target with time constant `tau_s`, plus a little noise.
float drift(float value, float target, float tau_s, float dt_s, float noise);

class VinaponicsSim : public kit::VinaponicsHardware {
 public:
  explicit VinaponicsSim(uint32_t seed) : rng_(seed) {}
  void read(kit::VinaponicsReadings& out, uint32_t now) override;
  void set_pump(bool on) override { pump_ = on; }
  void set_aerator(bool on) override { aerator_ = on; }
  void set_lights(bool on) override { lights_ = on; }
  void feed(uint8_t portions) override { portions_ += portions; }
  bool control(const char* line);  // keys: ph water_temp do ec level air_temp humidity light

 private:
  static constexpr int kReadings = 8;
  Random rng_;
  bool pinned_[kReadings] = {};
  float pinned_value_[kReadings] = {};
  bool started_ = false;
  uint32_t last_ms_ = 0;
  kit::VinaponicsReadings state_{6.8f, 22.5f, 6.0f, 1.4f, 82.0f, 24.0f, 58.0f, 350.0f};
  bool pump_ = false, aerator_ = false, lights_ = false;
  uint32_t portions_ = 0;
};

class RobotSim : public kit::RobotHardware {
 public:
  RobotSim(uint32_t seed, int64_t estop_at_ms)
      : rng_(seed), battery_(70.0f + static_cast<float>(seed % 30u)), estop_at_ms_(estop_at_ms) {}
  void read(kit::RobotSensors& out, uint32_t now) override;
  void set_motors(int8_t left, int8_t right) override { left_ = left; right_ = right; }
  void set_led(bool on) override { led_ = on; }
  bool control(const char* line);  // keys: battery distance

 private:
  Random rng_;
  float battery_;
  bool battery_pinned_ = false, distance_pinned_ = false;
  float distance_pin_ = 0.0f;
  int64_t estop_at_ms_;
  bool started_ = false;
  uint32_t first_ms_ = 0, last_ms_ = 0;
  float distance_ = 80.0f;
  uint8_t line_ = 0;
  uint8_t colour_ = kit::kNone;
  int8_t left_ = 0, right_ = 0;
  bool led_ = false;
};

}  // namespace sim
