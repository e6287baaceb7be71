"use strict";
// What an alarm is, in the reader's language, the same on /tech and /lab: the room's one alarm
// service (classroom_hub/alarms) lists the devices' alarms and the labs' alike.
const AlarmText = {
  // "pH dưới 6" for a limit on a sensor, "Mất kết nối" for a device, a lab's other kinds by
  // their first word ("actuator_pump": "Thiết bị không xác nhận lệnh").
  kind(a) {
    if (a.sensor) {
      const side = a.kind.slice(a.sensor.length + 1);
      return I18N.t("lab.alarm." + side, { sensor: I18N.t("lab.sensor." + a.sensor), limit: a.limit });
    }
    if (a.source === "lab") return I18N.t("lab.alarm.kind." + a.kind.split("_")[0]);
    return I18N.t("alarm.kind." + a.kind);
  },
  severity(a) { return I18N.t("lab.severity." + a.severity); },
  // Where it comes from: the device, or for a lab alarm its kit and the word "lab".
  // For the hub's own alarms (source "hub"): its store, disk, broker, roster pull or materials
  // sync, or a destination by name.
  where(a) {
    if (a.source === "lab") return I18N.t("alarm.kit", { kit: a.device_id });
    if (a.source === "hub") {
      const part = "alarm.part." + a.device_id;
      return part in I18N.strings ? I18N.t(part) : I18N.t("alarm.destination", { name: a.device_id });
    }
    return a.device_id;
  },
};
