#include "sim_hardware.h"

#include <stdlib.h>
#include <string.h>

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

bool parse_control(const char* line, char* key, size_t key_cap, float* value, bool* release) {
  size_t n = 0;
  while (line[n] != '\0' && line[n] != ' ' && n + 1 < key_cap) {
    key[n] = line[n];
    ++n;
  }
  key[n] = '\0';
  if (n == 0 || line[n] != ' ') return false;
  const char* text = line + n + 1;
  *release = text[0] == '-' && (text[1] == '\0' || text[1] == '\n');
  if (*release) return true;
  char* end = nullptr;
  *value = strtof(text, &end);
  return end != text;
}

namespace {
const char* const kVinaponicsKeys[] = {"ph", "water_temp", "do", "ec", "level", "air_temp", "humidity", "light"};

float* reading(kit::VinaponicsReadings& r, int index) {
  float* fields[] = {&r.ph, &r.water_temp, &r.dissolved_oxygen, &r.ec, &r.level, &r.air_temp, &r.humidity, &r.light};
  return fields[index];
}
}  // namespace

bool VinaponicsSim::control(const char* line) {
  char key[24];
  float value = 0.0f;
  bool release = false;
  if (!parse_control(line, key, sizeof key, &value, &release)) return false;
  for (int i = 0; i < kReadings; ++i) {
    if (strcmp(key, kVinaponicsKeys[i]) != 0) continue;
    pinned_[i] = !release;
    pinned_value_[i] = value;
    return true;
  }
  return false;
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
  for (int i = 0; i < kReadings; ++i) {
    if (pinned_[i]) *reading(s, i) = pinned_value_[i];
  }
  out = s;
}

bool RobotSim::control(const char* line) {
  char key[24];
  float value = 0.0f;
  bool release = false;
  if (!parse_control(line, key, sizeof key, &value, &release)) return false;
  if (strcmp(key, "battery") == 0) {
    battery_pinned_ = !release;
    if (!release) battery_ = value;
    return true;
  }
  if (strcmp(key, "distance") == 0) {
    distance_pinned_ = !release;
    distance_pin_ = value;
    return true;
  }
  return false;
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
  if (distance_pinned_) distance_ = distance_pin_;
  if (!battery_pinned_) {  // a 2S pack: a little for the electronics, more per % of motor duty
    const int duty = (left_ < 0 ? -left_ : left_) + (right_ < 0 ? -right_ : right_);
    battery_ -= dt * (0.005f + 0.0004f * static_cast<float>(duty));
    if (battery_ < 0.0f) battery_ = 0.0f;
  }
  if (rng_.next() % 20 == 0) line_ = static_cast<uint8_t>(rng_.next() % 8);
  colour_ = static_cast<uint8_t>(((now - first_ms_) / 3000) % kit::kColourCount);
  out.distance_cm = distance_;
  out.line = line_;
  out.colour = colour_;
  out.battery_pct = static_cast<uint8_t>(battery_ + 0.5f > 100.0f ? 100.0f : battery_ + 0.5f);
  out.estop_pressed = estop_at_ms_ >= 0 && static_cast<int64_t>(now - first_ms_) >= estop_at_ms_;
}

}  // namespace sim
