#include "vinaponics.h"

namespace kit {
namespace {
constexpr uint32_t kReadEveryMs = 100;
constexpr float kTdsFactor = 500.0f;  // ppm per mS/cm (the common 0.5 conversion factor)
}  // namespace

Result VinaponicsNode::command(Device& device, const TlvItem& name, TlvReader args, TlvWriter& result,
                               uint32_t now) {
  (void)now;
  if (name.str_is("set")) return set_outputs(args);
  if (name.str_is("feed")) {
    TlvItem portions;
    int32_t count = 1;
    if (args.find("portions", portions)) {
      if (portions.tag != kTagInt) return Result{kBadArgument, "portions must be an integer"};
      count = portions.i;
    }
    if (count < 1 || count > kMaxPortions) return Result{kBadArgument, "portions must be 1..5"};
    hw_.feed(static_cast<uint8_t>(count));
    portions_fed_ += count;
    result.put_int("fed", portions_fed_);
    uint8_t buf[16];
    TlvWriter fields(buf, sizeof buf);
    fields.put_int("portions", count);
    device.send_event("fed", fields.data(), fields.size());
    return Result::ok();
  }
  if (name.str_is("identify")) {
    device.console("identify: blinking the status LED");
    return Result::ok();
  }
  return Result{kUnknownCommand, "unknown_command"};
}

Result VinaponicsNode::set_outputs(TlvReader args) {
  // Check everything first so a bad argument changes nothing.
  TlvReader check = args;
  TlvItem item;
  bool any = false;
  while (check.next(item)) {
    if (!(item.is("pump") || item.is("aerator") || item.is("lights"))) return Result{kBadArgument, "unknown output"};
    if (item.tag != kTagBool) return Result{kBadArgument, "outputs take true/false"};
    any = true;
  }
  if (!any) return Result{kBadArgument, "nothing to set"};
  while (args.next(item)) {
    if (item.is("pump")) hw_.set_pump(pump_ = item.b);
    else if (item.is("aerator")) hw_.set_aerator(aerator_ = item.b);
    else hw_.set_lights(lights_ = item.b);
  }
  return Result::ok();
}

void VinaponicsNode::telemetry(TlvWriter& out, uint32_t now) {
  (void)now;
  if (have_readings_) {
    const VinaponicsReadings& r = readings_;
    out.put_float("ph", r.ph)
        .put_float("water_temp", r.water_temp)
        .put_float("do", r.dissolved_oxygen)
        .put_float("ec", r.ec)
        .put_int("tds", static_cast<int32_t>(r.ec * kTdsFactor + 0.5f))
        .put_float("level", r.level)
        .put_float("air_temp", r.air_temp)
        .put_float("humidity", r.humidity)
        .put_float("light", r.light);
  }
  out.put_bool("pump", pump_).put_bool("aerator", aerator_).put_bool("lights", lights_).put_int("fed", portions_fed_);
}

void VinaponicsNode::update(Device& device, uint32_t now) {
  if (have_readings_ && static_cast<uint32_t>(now - last_read_ms_) < kReadEveryMs) return;
  last_read_ms_ = now;
  hw_.read(readings_, now);
  have_readings_ = true;
  if (!level_low_ && readings_.level < kLevelLow) {
    level_low_ = true;
    uint8_t buf[16];
    TlvWriter fields(buf, sizeof buf);
    fields.put_float("level", readings_.level);
    device.send_event("level_low", fields.data(), fields.size());
  } else if (level_low_ && readings_.level > kLevelOk) {
    level_low_ = false;
  }
}

// The fish need the pump and air whether or not a hub is watching: keep outputs as they are.
void VinaponicsNode::host_lost(Device& device, uint32_t now) {
  (void)now;
  device.console("host lost; outputs kept");
}

void VinaponicsNode::session_started(Device& device, uint32_t now) {
  (void)device;
  (void)now;
}

}  // namespace kit
