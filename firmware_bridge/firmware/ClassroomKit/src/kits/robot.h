// Robot kit: two motors, distance / line / colour sensors, program slots, emergency stop.
// Safety lives here, not on the hub: the motors stop by themselves when the host's
// heartbeat is lost, when the emergency stop is pressed, or when an "estop" command arrives.
#pragma once
#include <stdint.h>

#include "../proto/device.h"

namespace kit {

enum Colour : uint8_t { kNone, kRed, kGreen, kBlue, kYellow, kWhite, kBlack, kColourCount };

struct RobotSensors {
  float distance_cm;  // ultrasonic, front
  uint8_t line;       // bit 0 left, bit 1 centre, bit 2 right: 1 = line seen
  uint8_t colour;     // Colour
  bool estop_pressed; // the red button on the chassis
  uint8_t battery_pct = 255;  // 0..100 % charge; 255 = the board cannot measure it
};

class RobotHardware {
 public:
  virtual void read(RobotSensors& out, uint32_t now) = 0;
  virtual void set_motors(int8_t left, int8_t right) = 0;  // -100..100 % duty
  virtual void set_led(bool on) = 0;
};

// A program text arriving in chunks (upload_begin / upload_chunk / upload_end). It survives
// a lost host or a new session, so an interrupted upload resumes where it stopped; a reboot
// or an upload of something else starts over.
struct ProgramUpload {
  static constexpr uint16_t kMaxText = 192;
  bool active;
  uint8_t slot;
  uint16_t size;
  uint32_t crc;     // CRC-32/ISO-HDLC of the whole text, as announced by the host
  uint16_t have;    // bytes received, always a prefix
  uint8_t text[kMaxText];
};

class RobotKit : public Kit {
 public:
  static Text kind();      // "robot"
  static Text commands();  // IDENTIFY "caps"
  static Text outputs();   // IDENTIFY "outs": what `set` accepts
  static constexpr uint8_t kSlots = 4;
  static constexpr uint8_t kStepsPerSlot = 16;
  static constexpr uint8_t kMaxChunk = 128;

  explicit RobotKit(RobotHardware& hardware) : hw_(hardware) {}

  Result command(Device& device, const TlvItem& name, TlvReader args, TlvWriter& result,
                 uint32_t now) override;
  void telemetry(TlvWriter& out, uint32_t now) override;
  void update(Device& device, uint32_t now) override;
  void host_lost(Device& device, uint32_t now) override;
  void session_started(Device& device, uint32_t now) override;

  int8_t motor_left() const { return left_; }
  int8_t motor_right() const { return right_; }

 private:
  struct Step {
    char op;        // F forward, B back, L spin left, R spin right, W wait, S stop
    int8_t speed;   // 0..100
    uint16_t ms;
  };
  struct Program {
    uint8_t steps;
    Step step[kStepsPerSlot];
  };
  Result drive(TlvReader args);
  Result store(TlvReader args);
  Result run(TlvReader args, uint32_t now);
  Result set(TlvReader args);
  Result upload_begin(TlvReader args, TlvWriter& result);
  Result upload_chunk(TlvReader args, TlvWriter& result);
  Result upload_end(TlvWriter& result);
  void motors(int left, int right);
  void halt();  // motors off, program stopped
  void start_step(uint32_t now);
  void emergency_stop(Device& device, Text source);
  static uint8_t parse_program(const uint8_t* text, uint8_t len, Program* out);

  RobotHardware& hw_;
  RobotSensors sensors_{};
  bool have_sensors_ = false;
  uint32_t last_read_ms_ = 0;
  int8_t left_ = 0;
  int8_t right_ = 0;
  int8_t speed_limit_ = 100;
  bool led_ = false;
  bool estop_ = false;
  Program programs_[kSlots] = {};
  int8_t running_slot_ = -1;
  uint8_t step_index_ = 0;
  uint32_t step_started_ms_ = 0;
  ProgramUpload upload_ = {};
};

}  // namespace kit
