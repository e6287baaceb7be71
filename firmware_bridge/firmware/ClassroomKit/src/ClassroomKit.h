// Umbrella header for Arduino sketches: #include <ClassroomKit.h>
#pragma once
#include "proto/cobs.h"
#include "proto/crc16.h"
#include "proto/crc32.h"
#include "proto/device.h"
#include "proto/frame.h"
#include "proto/text.h"
#include "proto/tlv.h"
#include "kits/robot.h"
#include "kits/vinaponics.h"
#if defined(__AVR__)
#include "avr/uart_port.h"
#endif
