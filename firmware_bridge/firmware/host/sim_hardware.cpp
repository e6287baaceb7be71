#include "sim_hardware.h"

namespace sim {

uint32_t Random::next() {  // xorshift32
  state_ ^= state_ << 13;
  state_ ^= state_ >> 17;
  state_ ^= state_ << 5;
  return state_;
}

float Random::uniform(float low, float high) {
  return low + (high - low) * static_cast<float>(next() >> 8) / 16777216.0f;
}

float drift(float value, float target, float tau_s, float dt_s, float noise) {
  float k = dt_s / tau_s;
  if (k > 1.0f) k = 1.0f;
  return value + (target - value) * k + noise;
}

void VinaponicsSim::read(kit::VinaponicsReadings& out, uint32_t now) {
  const float dt = started_ ? static_cast<float>(now - last_ms_) / 1000.0f : 0.0f;
  started_ = true;
  last_ms_ = now;
  kit::VinaponicsReadings& s = state_;
  s.ph = drift(s.ph, 6.8f, 120.0f, dt, rng_.noise(0.01f));
  s.water_temp = drift(s.water_temp, 22.5f, 600.0f, dt, rng_.noise(0.02f));
  s.dissolved_oxygen = drift(s.dissolved_oxygen, aerator_ ? 8.2f : 5.4f, 60.0f, dt, rng_.noise(0.02f));
  s.ec = drift(s.ec, 1.4f + 0.001f * static_cast<float>(portions_ % 100), 300.0f, dt, rng_.noise(0.005f));
  s.level = drift(s.level, pump_ ? 70.0f : 84.0f, 90.0f, dt, rng_.noise(0.05f));
  s.air_temp = drift(s.air_temp, lights_ ? 25.5f : 23.5f, 300.0f, dt, rng_.noise(0.03f));
  s.humidity = drift(s.humidity, 58.0f, 300.0f, dt, rng_.noise(0.1f));
  s.light = drift(s.light, lights_ ? 12000.0f : 350.0f, 2.0f, dt, rng_.noise(5.0f));
  if (s.light < 0.0f) s.light = 0.0f;
  out = s;
}

void RobotSim::read(kit::RobotSensors& out, uint32_t now) {
  if (!started_) {
    started_ = true;
    first_ms_ = last_ms_ = now;
  }
  const float dt = static_cast<float>(now - last_ms_) / 1000.0f;
  last_ms_ = now;
  // Driving forward closes in on the wall ahead; backing away opens up; 0.5 cm/s per % duty.
  distance_ -= 0.005f * static_cast<float>(left_ + right_) * dt * 50.0f;
  distance_ += rng_.noise(0.3f);
  if (distance_ < 12.0f) distance_ = 150.0f + rng_.uniform(0.0f, 50.0f);  // turned away
  if (distance_ > 250.0f) distance_ = 250.0f;
  if (rng_.next() % 20 == 0) line_ = static_cast<uint8_t>(rng_.next() % 8);
  colour_ = static_cast<uint8_t>(((now - first_ms_) / 3000) % kit::kColourCount);
  out.distance_cm = distance_;
  out.line = line_;
  out.colour = colour_;
  out.estop_pressed = estop_at_ms_ >= 0 && static_cast<int64_t>(now - first_ms_) >= estop_at_ms_;
}

}  // namespace sim
