#include "robot.h"

#include <string.h>

#include "../proto/crc32.h"

namespace kit {
namespace {

constexpr uint32_t kReadEveryMs = 50;

bool int_arg(const TlvReader& args, Text key, int32_t low, int32_t high, int32_t* out) {
  TlvItem item;
  if (!args.find(key, item) || item.tag != kTagInt || item.i < low || item.i > high) return false;
  *out = item.i;
  return true;
}

}  // namespace

Text RobotKit::kind() { return KIT_TEXT("robot"); }
Text RobotKit::commands() {
  return KIT_TEXT("drive,stop,estop,reset,store,run,set,upload_begin,upload_chunk,upload_end,stats");
}
Text RobotKit::outputs() { return KIT_TEXT("led,speed_limit"); }

Result RobotKit::command(Device& device, const TlvItem& name, TlvReader args, TlvWriter& result,
                         uint32_t now) {
  if (name.str_is(KIT_TEXT("drive"))) return drive(args);
  if (name.str_is(KIT_TEXT("stop"))) {
    halt();
    return Result::ok();
  }
  if (name.str_is(KIT_TEXT("estop"))) {
    emergency_stop(device, KIT_TEXT("host"));
    return Result::ok();
  }
  if (name.str_is(KIT_TEXT("reset"))) {
    if (have_sensors_ && sensors_.estop_pressed) return Result{kRefused, KIT_TEXT("estop button still pressed")};
    estop_ = false;
    return Result::ok();
  }
  if (name.str_is(KIT_TEXT("store"))) return store(args);
  if (name.str_is(KIT_TEXT("run"))) return run(args, now);
  if (name.str_is(KIT_TEXT("set"))) return set(args);
  if (name.str_is(KIT_TEXT("upload_begin"))) return upload_begin(args, result);
  if (name.str_is(KIT_TEXT("upload_chunk"))) return upload_chunk(args, result);
  if (name.str_is(KIT_TEXT("upload_end"))) return upload_end(result);
  return Result{kUnknownCommand, KIT_TEXT("unknown_command")};
}

Result RobotKit::drive(TlvReader args) {
  if (estop_) return Result{kRefused, KIT_TEXT("emergency stop engaged")};
  int32_t left, right;
  if (!int_arg(args, KIT_TEXT("left"), -100, 100, &left) || !int_arg(args, KIT_TEXT("right"), -100, 100, &right)) {
    return Result{kBadArgument, KIT_TEXT("left and right: -100..100")};
  }
  running_slot_ = -1;
  motors(left, right);
  return Result::ok();
}

Result RobotKit::store(TlvReader args) {
  int32_t slot;
  TlvItem text;
  if (!int_arg(args, KIT_TEXT("slot"), 0, kSlots - 1, &slot)) return Result{kBadArgument, KIT_TEXT("slot: 0..3")};
  if (!args.find(KIT_TEXT("program"), text) || text.tag != kTagStr) return Result{kBadArgument, KIT_TEXT("program: text")};
  if (parse_program(text.s, text.s_len, nullptr) == 0) return Result{kBadArgument, KIT_TEXT("bad program")};
  if (running_slot_ == slot) halt();
  parse_program(text.s, text.s_len, &programs_[slot]);
  return Result::ok();
}

Result RobotKit::run(TlvReader args, uint32_t now) {
  int32_t slot;
  if (!int_arg(args, KIT_TEXT("slot"), 0, kSlots - 1, &slot)) return Result{kBadArgument, KIT_TEXT("slot: 0..3")};
  if (estop_) return Result{kRefused, KIT_TEXT("emergency stop engaged")};
  if (programs_[slot].steps == 0) return Result{kRefused, KIT_TEXT("slot is empty")};
  running_slot_ = static_cast<int8_t>(slot);
  step_index_ = 0;
  start_step(now);  // an "S" first step ends in the next update()
  return Result::ok();
}

Result RobotKit::set(TlvReader args) {
  TlvReader check = args;
  TlvItem item;
  bool any = false;
  while (check.next(item)) {
    if (item.is(KIT_TEXT("led"))) {
      if (item.tag != kTagBool) return Result{kBadArgument, KIT_TEXT("led: true/false")};
    } else if (item.is(KIT_TEXT("speed_limit"))) {
      if (item.tag != kTagInt || item.i < 0 || item.i > 100) return Result{kBadArgument, KIT_TEXT("speed_limit: 0..100")};
    } else {
      return Result{kBadArgument, KIT_TEXT("unknown output")};
    }
    any = true;
  }
  if (!any) return Result{kBadArgument, KIT_TEXT("nothing to set")};
  while (args.next(item)) {
    if (item.is(KIT_TEXT("led"))) hw_.set_led(led_ = item.b);
    else speed_limit_ = static_cast<int8_t>(item.i);
  }
  motors(left_, right_);  // re-apply under the new limit
  return Result::ok();
}

// Same slot, size and CRC as the upload in progress: carry on from what is there.
Result RobotKit::upload_begin(TlvReader args, TlvWriter& result) {
  int32_t slot, size;
  TlvItem crc;
  if (!int_arg(args, KIT_TEXT("slot"), 0, kSlots - 1, &slot)) return Result{kBadArgument, KIT_TEXT("slot: 0..3")};
  if (!int_arg(args, KIT_TEXT("size"), 1, ProgramUpload::kMaxText, &size)) return Result{kBadArgument, KIT_TEXT("size: 1..192")};
  if (!args.find(KIT_TEXT("crc"), crc) || crc.tag != kTagInt) return Result{kBadArgument, KIT_TEXT("crc: CRC-32 as int")};
  const uint32_t want = static_cast<uint32_t>(crc.i);
  ProgramUpload& u = upload_;
  if (!(u.active && u.slot == slot && u.size == size && u.crc == want)) {
    u.active = true;
    u.slot = static_cast<uint8_t>(slot);
    u.size = static_cast<uint16_t>(size);
    u.crc = want;
    u.have = 0;
  }
  result.put_int(KIT_TEXT("have"), u.have);
  return Result::ok();
}

// Chunks must continue the prefix: a chunk the board has already (a resend) is accepted
// again, a gap is refused with what the board has, so the host knows where to resume.
Result RobotKit::upload_chunk(TlvReader args, TlvWriter& result) {
  ProgramUpload& u = upload_;
  if (!u.active) return Result{kRefused, KIT_TEXT("no upload in progress")};
  int32_t offset;
  TlvItem data;
  if (!int_arg(args, KIT_TEXT("offset"), 0, u.size, &offset)) return Result{kBadArgument, KIT_TEXT("offset: 0..size")};
  if (!args.find(KIT_TEXT("data"), data) || data.tag != kTagStr || data.s_len == 0 || data.s_len > kMaxChunk) {
    return Result{kBadArgument, KIT_TEXT("data: 1..128 bytes of text")};
  }
  if (offset > u.have) return Result{kBadArgument, KIT_TEXT("offset past the bytes received")};
  const uint32_t end = static_cast<uint32_t>(offset) + data.s_len;
  if (end > u.size) return Result{kBadArgument, KIT_TEXT("chunk runs past size")};
  if (end > u.have) {
    const uint16_t skip = static_cast<uint16_t>(u.have - offset);
    memcpy(u.text + u.have, data.s + skip, data.s_len - skip);
    u.have = static_cast<uint16_t>(end);
  }
  result.put_int(KIT_TEXT("have"), u.have);
  return Result::ok();
}

Result RobotKit::upload_end(TlvWriter& result) {
  ProgramUpload& u = upload_;
  if (!u.active) return Result{kRefused, KIT_TEXT("no upload in progress")};
  if (u.have != u.size) return Result{kRefused, KIT_TEXT("upload incomplete")};
  u.active = false;  // whatever happens now, the next upload starts afresh
  if (crc32(u.text, u.size) != u.crc) return Result{kBadArgument, KIT_TEXT("crc mismatch")};
  const uint8_t steps = parse_program(u.text, static_cast<uint8_t>(u.size), nullptr);
  if (steps == 0) return Result{kBadArgument, KIT_TEXT("bad program")};
  if (running_slot_ == u.slot) halt();
  parse_program(u.text, static_cast<uint8_t>(u.size), &programs_[u.slot]);
  result.put_int(KIT_TEXT("slot"), u.slot).put_int(KIT_TEXT("steps"), steps);
  return Result::ok();
}

void RobotKit::motors(int left, int right) {
  const int limit = speed_limit_;
  if (left > limit) left = limit;
  if (left < -limit) left = -limit;
  if (right > limit) right = limit;
  if (right < -limit) right = -limit;
  left_ = static_cast<int8_t>(left);
  right_ = static_cast<int8_t>(right);
  hw_.set_motors(left_, right_);
}

void RobotKit::halt() {
  running_slot_ = -1;
  motors(0, 0);
}

void RobotKit::emergency_stop(Device& device, Text source) {
  halt();
  if (estop_) return;
  estop_ = true;
  uint8_t buf[24];
  TlvWriter fields(buf, sizeof buf);
  fields.put_str(KIT_TEXT("source"), source);
  device.send_event(KIT_TEXT("estop"), fields.data(), fields.size());
}

void RobotKit::start_step(uint32_t now) {
  const Step& step = programs_[running_slot_].step[step_index_];
  step_started_ms_ = now;
  const int s = step.speed;
  switch (step.op) {
    case 'F': motors(s, s); break;
    case 'B': motors(-s, -s); break;
    case 'L': motors(-s, s); break;
    case 'R': motors(s, -s); break;
    default: motors(0, 0); break;
  }
}

void RobotKit::update(Device& device, uint32_t now) {
  if (!have_sensors_ || static_cast<uint32_t>(now - last_read_ms_) >= kReadEveryMs) {
    last_read_ms_ = now;
    hw_.read(sensors_, now);
    have_sensors_ = true;
    if (sensors_.estop_pressed) emergency_stop(device, KIT_TEXT("button"));
  }
  if (running_slot_ < 0) return;
  const Program& program = programs_[running_slot_];
  const Step& step = program.step[step_index_];
  if (step.op != 'S' && static_cast<uint32_t>(now - step_started_ms_) < step.ms) return;
  if (step.op != 'S') ++step_index_;
  if (step_index_ < program.steps && program.step[step_index_].op != 'S') {
    start_step(now);
    return;
  }
  const int8_t slot = running_slot_;
  halt();
  uint8_t buf[16];
  TlvWriter fields(buf, sizeof buf);
  fields.put_int(KIT_TEXT("slot"), slot);
  device.send_event(KIT_TEXT("program_done"), fields.data(), fields.size());
}

void RobotKit::host_lost(Device& device, uint32_t now) {
  (void)now;
  const bool moving = left_ != 0 || right_ != 0 || running_slot_ >= 0;
  halt();
  uint8_t buf[16];
  TlvWriter fields(buf, sizeof buf);
  fields.put_bool(KIT_TEXT("stopped"), moving);
  device.send_event(KIT_TEXT("host_lost"), fields.data(), fields.size());
}

void RobotKit::session_started(Device& device, uint32_t now) {
  (void)device;
  (void)now;
}

void RobotKit::telemetry(TlvWriter& out, uint32_t now) {
  (void)now;
  out.put_int(KIT_TEXT("motor_l"), left_).put_int(KIT_TEXT("motor_r"), right_);
  if (have_sensors_) {
    const uint8_t colour = sensors_.colour < kColourCount ? sensors_.colour : 0;
    out.put_float(KIT_TEXT("distance"), sensors_.distance_cm).put_int(KIT_TEXT("line"), sensors_.line).put_str(KIT_TEXT("colour"), KIT_TEXT("none\0red\0green\0blue\0yellow\0white\0black").nth(colour));
  }
  out.put_bool(KIT_TEXT("estop"), estop_)
      .put_int(KIT_TEXT("slot"), running_slot_)
      .put_int(KIT_TEXT("step"), running_slot_ >= 0 ? step_index_ : -1)
      .put_bool(KIT_TEXT("led"), led_)
      .put_int(KIT_TEXT("speed_limit"), speed_limit_);
  if (have_sensors_ && sensors_.battery_pct <= 100) out.put_int(KIT_TEXT("battery"), sensors_.battery_pct);
}

// "F50:800;L40:300;W500;S": forward 50 % for 800 ms, spin left 40 % for 300 ms, wait, stop.
// Returns the number of steps, 0 if the text is not a program. With `out` null it only checks,
// so a slot is written only with a good program, and no second Program (65 bytes) sits on the
// stack of a board with 2 KB of RAM.
uint8_t RobotKit::parse_program(const uint8_t* text, uint8_t len, Program* out) {
  uint8_t steps = 0;
  size_t i = 0;
  while (i < len) {
    if (steps >= kStepsPerSlot) return 0;
    Step step{static_cast<char>(text[i++]), 0, 0};
    int32_t first = -1, second = -1;
    int32_t* target = &first;
    while (i < len && text[i] != ';') {
      const uint8_t c = text[i++];
      if (c == ':' && target == &first) {
        target = &second;
      } else if (c >= '0' && c <= '9') {
        if (*target < 0) *target = 0;
        *target = *target * 10 + (c - '0');
        if (*target > 60000) return 0;
      } else {
        return 0;
      }
    }
    ++i;  // skip ';'
    switch (step.op) {
      case 'F': case 'B': case 'L': case 'R':
        if (first < 0 || first > 100 || second < 0) return 0;
        step.speed = static_cast<int8_t>(first);
        step.ms = static_cast<uint16_t>(second);
        break;
      case 'W':
        if (first < 0 || second >= 0) return 0;
        step.ms = static_cast<uint16_t>(first);
        break;
      case 'S':
        if (first >= 0 || second >= 0) return 0;
        break;
      default:
        return 0;
    }
    if (out != nullptr) out->step[steps] = step;
    ++steps;
    if (step.op == 'S') break;
  }
  if (out != nullptr) out->steps = steps;
  return steps;
}

}  // namespace kit
