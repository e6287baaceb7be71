#include "vinaponics.h"

namespace kit {
namespace {
constexpr uint32_t kReadEveryMs = 100;
constexpr float kTdsFactor = 500.0f;  // ppm per mS/cm (the common 0.5 conversion factor)

bool finite(float value) { return value - value == 0.0f; }  // false for NaN and the infinities

// A sensor the board does not have or that failed reads NaN: it is left out (§9), never sent.
void put_reading(TlvWriter& out, Text key, float value) {
  if (finite(value)) out.put_float(key, value);
}
}  // namespace

Text VinaponicsNode::kind() { return KIT_TEXT("vinaponics"); }
Text VinaponicsNode::commands() { return KIT_TEXT("set,feed,identify,stats"); }
Text VinaponicsNode::outputs() { return KIT_TEXT("pump,aerator,lights"); }

Result VinaponicsNode::command(Device& device, const TlvItem& name, TlvReader args, TlvWriter& result,
                               uint32_t now) {
  (void)now;
  if (name.str_is(KIT_TEXT("set"))) return set_outputs(args);
  if (name.str_is(KIT_TEXT("feed"))) {
    TlvItem portions;
    int32_t count = 1;
    if (args.find(KIT_TEXT("portions"), portions)) {
      if (portions.tag != kTagInt) return Result{kBadArgument, KIT_TEXT("portions must be an integer")};
      count = portions.i;
    }
    if (count < 1 || count > kMaxPortions) return Result{kBadArgument, KIT_TEXT("portions must be 1..5")};
    hw_.feed(static_cast<uint8_t>(count));
    portions_fed_ += count;
    result.put_int(KIT_TEXT("fed"), portions_fed_);
    uint8_t buf[16];
    TlvWriter fields(buf, sizeof buf);
    fields.put_int(KIT_TEXT("portions"), count);
    device.send_event(KIT_TEXT("fed"), fields.data(), fields.size());
    return Result::ok();
  }
  if (name.str_is(KIT_TEXT("identify"))) {
    device.console(KIT_TEXT("identify: blinking the status LED"));
    return Result::ok();
  }
  return Result{kUnknownCommand, KIT_TEXT("unknown_command")};
}

Result VinaponicsNode::set_outputs(TlvReader args) {
  // Check everything first so a bad argument changes nothing.
  TlvReader check = args;
  TlvItem item;
  bool any = false;
  while (check.next(item)) {
    if (!(item.is(KIT_TEXT("pump")) || item.is(KIT_TEXT("aerator")) || item.is(KIT_TEXT("lights")))) return Result{kBadArgument, KIT_TEXT("unknown output")};
    if (item.tag != kTagBool) return Result{kBadArgument, KIT_TEXT("outputs take true/false")};
    any = true;
  }
  if (!any) return Result{kBadArgument, KIT_TEXT("nothing to set")};
  while (args.next(item)) {
    if (item.is(KIT_TEXT("pump"))) hw_.set_pump(pump_ = item.b);
    else if (item.is(KIT_TEXT("aerator"))) hw_.set_aerator(aerator_ = item.b);
    else hw_.set_lights(lights_ = item.b);
  }
  return Result::ok();
}

void VinaponicsNode::telemetry(TlvWriter& out, uint32_t now) {
  (void)now;
  if (have_readings_) {
    const VinaponicsReadings& r = readings_;
    put_reading(out, KIT_TEXT("ph"), r.ph);
    put_reading(out, KIT_TEXT("water_temp"), r.water_temp);
    put_reading(out, KIT_TEXT("do"), r.dissolved_oxygen);
    put_reading(out, KIT_TEXT("ec"), r.ec);
    if (finite(r.ec)) out.put_int(KIT_TEXT("tds"), static_cast<int32_t>(r.ec * kTdsFactor + 0.5f));
    put_reading(out, KIT_TEXT("level"), r.level);
    put_reading(out, KIT_TEXT("air_temp"), r.air_temp);
    put_reading(out, KIT_TEXT("humidity"), r.humidity);
    put_reading(out, KIT_TEXT("light"), r.light);
  }
  out.put_bool(KIT_TEXT("pump"), pump_)
      .put_bool(KIT_TEXT("aerator"), aerator_)
      .put_bool(KIT_TEXT("lights"), lights_)
      .put_int(KIT_TEXT("fed"), portions_fed_);
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
    fields.put_float(KIT_TEXT("level"), readings_.level);
    device.send_event(KIT_TEXT("level_low"), fields.data(), fields.size());
  } else if (level_low_ && readings_.level > kLevelOk) {
    level_low_ = false;
  }
}

// The fish need the pump and air whether or not a hub is watching: keep outputs as they are.
void VinaponicsNode::host_lost(Device& device, uint32_t now) {
  (void)now;
  device.console(KIT_TEXT("host lost; outputs kept"));
}

void VinaponicsNode::session_started(Device& device, uint32_t now) {
  (void)device;
  (void)now;
}

}  // namespace kit
