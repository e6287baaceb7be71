// kit_sim: an AVR image built by `make avr` running on simavr (libsimavr), with the chip's
// USART0 bridged to a file descriptor: the master end of a pseudo-terminal, so a host opens
// the other end exactly like the USB port of an Arduino. Used by the firmware tests and
// bench/serial_bridge.py to run the very image that would be uploaded to an Uno.
//
// Time: the chip runs at its clock (16 MHz), held back to the wall clock, never ahead of it
// (the protocol's timeouts are real time on the host). Under load it may fall behind; then
// everything on the board, its UART included, runs slower, as one consistent machine.
// Reports on stdout, one line each, with the board's time in CPU cycles:
//   ready <mcu> <hz>          the chip is running
//   pty <path>                (--pty) the port to open
//   rx <n> <cycle>            the n-th 0x00 (a frame's end) reached the board's UART
//   tx <n> <cycle>            the n-th 0x00 left the board's UART
//   report static=<B> stack_max=<B> free_min=<B> busy_max=<cycles> cycle=<now> lag_ms=<behind>
//                             on `report` and at exit: static RAM (.data + .bss), the deepest the
//                             stack went and the RAM never touched between them (the harness
//                             paints the RAM at reset and looks for the paint), the longest the
//                             chip stayed awake between two sleeps (its loop time), and how far
//                             it fell behind the wall clock (stopped, or a busy host)
// Control lines on stdin:
//   pin PD4 0                 drive an input pin (port letter, bit) low or high
//   adc 3 2500                put 2500 mV on ADC channel 3
//   reset                     reset the chip (as the reset button or a DTR pulse does)
//   report                    print the report line now
// The line: bytes from the host are handed to the UART one at a time, each when the one before
// has been read, and never faster than --baud (8N1) allows. simavr times a received byte as 11
// bits (it counts a parity bit), so the emulated line carries about 10,400 bytes/s where a real
// 115200-baud line carries 11,520: 10 % slower, which only makes a long frame take longer.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <avr_adc.h>
#include <avr_extint.h>
#include <avr_ioport.h>
#include <avr_uart.h>
#include <sim_avr.h>
#include <sim_elf.h>
#include <sim_irq.h>

#define IN_CAP 65536
#define OUT_CAP 65536
#define MAX_PINS 16
#define MAX_LAG_NS 5000000u  // catch up at most 5 ms of a delay, as fast as the host CPU allows

static const char usage[] =
    "usage: kit_sim (--fd N | --pty) [--mcu atmega328p] [--hz 16000000] [--baud 115200]\n"
    "               [--pin PD4=1[@MS]]... [--adc CH=MV]... firmware.elf\n";

typedef struct {
  char port;
  uint8_t bit, value;
  uint32_t at_ms;  // 0: at start
  int done;
} pin_setting_t;

static struct {
  avr_t* avr;
  int fd;
  uint32_t hz;
  avr_cycle_count_t cycles_per_byte;
  // host -> board
  uint8_t in[IN_CAP];
  size_t in_head, in_len;
  int uart_ready;  // the UART's receive FIFO is empty and reception is on
  int feed_scheduled;
  avr_cycle_count_t next_feed;
  uint64_t rx_ends, in_dropped;
  // board -> host
  uint8_t out[OUT_CAP];
  size_t out_len;
  uint64_t tx_ends, out_dropped;
  struct avr_irq_t* uart_input;
  uint16_t ram_start, heap_start;  // static RAM is [ram_start, heap_start): .data, .bss, .noinit
  avr_cycle_count_t woke_at, busy_max;
  uint64_t lag_ns;  // wall time the chip fell behind and did not make up
  int slept;  // the stretch from reset to the first sleep is start-up, not the loop
  pin_setting_t pins[MAX_PINS];
  int pin_count;
} sim;

static volatile sig_atomic_t stop_requested = 0;
static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

// The firmware sleeps between interrupts; simavr's default would sleep as long in real time
// inside avr_run(). The main loop keeps the board on the wall clock instead, so a sleeping
// chip simply jumps to its next event.
static void skip_sleep(avr_t* avr, avr_cycle_count_t how_long) {
  (void)avr;
  (void)how_long;
}

// simavr 1.6 polls a low INT0/INT1 pin every cycle while the pin's interrupt is in its default
// low-level mode, enabled or not (simavr bug 465, fixed after 1.6): the robot's trigger pin is
// INT1 and sits low, which made the emulation three times slower. The sketches use no
// level-triggered interrupt, so the chip behaves the same without the polling.
static void no_level_polling(avr_t* avr) {
  for (uint8_t i = 0; i < 2; ++i) avr_extint_set_strict_lvl_trig(avr, i, 0);
}

static uint64_t monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define PAINT 0xA5

// Fills the RAM with a pattern before the chip starts: its start-up code overwrites the static
// part, and the stack overwrites what it uses, so the paint left shows the deepest it went.
static void paint_ram(void) {
  for (unsigned at = sim.ram_start; at <= sim.avr->ramend; ++at) sim.avr->data[at] = PAINT;
}

static void report(void) {
  unsigned free_min = 0;
  for (unsigned at = sim.heap_start; at <= sim.avr->ramend && sim.avr->data[at] == PAINT; ++at) ++free_min;
  const unsigned static_ram = sim.heap_start - sim.ram_start;
  const unsigned stack_max = sim.avr->ramend + 1u - sim.heap_start - free_min;
  printf("report static=%u stack_max=%u free_min=%u busy_max=%llu cycle=%llu lag_ms=%llu\n", static_ram, stack_max,
         free_min, (unsigned long long)sim.busy_max, (unsigned long long)sim.avr->cycle,
         (unsigned long long)(sim.lag_ns / 1000000u));
}

// --- host -> board ------------------------------------------------------------------------

static avr_cycle_count_t feed_byte(struct avr_t* avr, avr_cycle_count_t when, void* param) {
  (void)param;
  sim.feed_scheduled = 0;
  if (sim.in_len == 0 || !sim.uart_ready) return 0;
  const uint8_t byte = sim.in[sim.in_head];
  sim.in_head = (sim.in_head + 1) % IN_CAP;
  --sim.in_len;
  sim.uart_ready = 0;
  sim.next_feed = when + sim.cycles_per_byte;
  avr_raise_irq(sim.uart_input, byte);
  if (byte == 0) printf("rx %llu %llu\n", (unsigned long long)sim.rx_ends++, (unsigned long long)avr->cycle);
  return 0;
}

static void schedule_feed(void) {
  if (sim.feed_scheduled || sim.in_len == 0 || !sim.uart_ready) return;
  const avr_cycle_count_t now = sim.avr->cycle;
  const avr_cycle_count_t wait = sim.next_feed > now ? sim.next_feed - now : 1;
  avr_cycle_timer_register(sim.avr, wait, feed_byte, NULL);
  sim.feed_scheduled = 1;
}

// simavr raises XON when the UART's receive FIFO has been emptied by the firmware.
static void on_uart_xon(struct avr_irq_t* irq, uint32_t value, void* param) {
  (void)irq;
  (void)param;
  if (!value) return;
  sim.uart_ready = 1;
  schedule_feed();
}

static void read_host(void) {
  uint8_t buf[4096];
  for (;;) {
    const ssize_t n = read(sim.fd, buf, sizeof buf);
    if (n <= 0) return;  // EAGAIN, or EIO while no host has the pty open
    for (ssize_t i = 0; i < n; ++i) {
      if (sim.in_len == IN_CAP) {
        ++sim.in_dropped;
        continue;
      }
      sim.in[(sim.in_head + sim.in_len) % IN_CAP] = buf[i];
      ++sim.in_len;
    }
  }
}

// --- board -> host ------------------------------------------------------------------------

static void on_uart_output(struct avr_irq_t* irq, uint32_t value, void* param) {
  (void)irq;
  (void)param;
  if (sim.out_len == OUT_CAP) {
    ++sim.out_dropped;
  } else {
    sim.out[sim.out_len++] = (uint8_t)value;
  }
  if (value == 0) printf("tx %llu %llu\n", (unsigned long long)sim.tx_ends++, (unsigned long long)sim.avr->cycle);
}

static void write_host(void) {
  if (sim.out_len == 0) return;
  const ssize_t n = write(sim.fd, sim.out, sim.out_len);
  if (n < 0) {
    // Nobody reads the port (no host attached, or it stopped reading): the bytes are gone,
    // as they are on a USB serial adapter with no host.
    if (errno == EAGAIN || errno == EIO) {
      sim.out_dropped += sim.out_len;
      sim.out_len = 0;
    }
    return;
  }
  memmove(sim.out, sim.out + n, sim.out_len - (size_t)n);
  sim.out_len -= (size_t)n;
}

// --- pins, ADC, control -------------------------------------------------------------------

// A driven input stays driven: simavr lets a write to PORT (a pull-up bit) override an input
// pin unless the port's "external" state names it, so the harness keeps one per port.
static int drive_pin(char port, unsigned bit, unsigned value) {
  static uint8_t external_mask['L' - 'A' + 1], external_value['L' - 'A' + 1];
  if (port < 'A' || port > 'L' || bit > 7) return -1;
  struct avr_irq_t* irq = avr_io_getirq(sim.avr, AVR_IOCTL_IOPORT_GETIRQ(port), (int)bit);
  if (irq == NULL) return -1;
  const int at = port - 'A';
  external_mask[at] |= (uint8_t)(1u << bit);
  if (value) external_value[at] |= (uint8_t)(1u << bit);
  else external_value[at] &= (uint8_t)~(1u << bit);
  avr_ioport_external_t state = {.name = (unsigned long)port, .mask = external_mask[at], .value = external_value[at]};
  avr_ioctl(sim.avr, AVR_IOCTL_IOPORT_SET_EXTERNAL(port), &state);
  avr_raise_irq(irq, value ? 1 : 0);
  return 0;
}

static int set_adc(unsigned channel, unsigned millivolts) {
  if (channel > 15) return -1;
  struct avr_irq_t* irq = avr_io_getirq(sim.avr, AVR_IOCTL_ADC_GETIRQ, (int)(ADC_IRQ_ADC0 + channel));
  if (irq == NULL) return -1;
  avr_raise_irq(irq, millivolts);
  return 0;
}

static void apply_pins(uint32_t now_ms) {
  for (int i = 0; i < sim.pin_count; ++i) {
    pin_setting_t* p = &sim.pins[i];
    if (p->done || now_ms < p->at_ms) continue;
    drive_pin(p->port, p->bit, p->value);
    p->done = 1;
  }
}

static void control_line(char* line) {
  char port;
  unsigned a, b;
  if (sscanf(line, "pin P%c%u %u", &port, &a, &b) == 3) {
    if (drive_pin(port, a, b) != 0) fprintf(stderr, "kit_sim: no pin P%c%u\n", port, a);
  } else if (sscanf(line, "adc %u %u", &a, &b) == 2) {
    if (set_adc(a, b) != 0) fprintf(stderr, "kit_sim: no ADC channel %u\n", a);
  } else if (strncmp(line, "reset", 5) == 0) {
    avr_reset(sim.avr);
    paint_ram();
    no_level_polling(sim.avr);
    sim.slept = 0;
    sim.uart_ready = 0;  // the firmware has to enable reception again
  } else if (strncmp(line, "report", 6) == 0) {
    report();
  } else if (line[0] != '\0') {
    fprintf(stderr, "kit_sim: unknown control line: %s\n", line);
  }
}

static void read_control(int* open_flag) {
  static char line[256];
  static size_t len = 0;
  char buf[256];
  const ssize_t n = read(0, buf, sizeof buf);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    *open_flag = 0;
    return;
  }
  for (ssize_t i = 0; i < n; ++i) {
    if (buf[i] != '\n') {
      if (len + 1 < sizeof line) line[len++] = buf[i];
      continue;
    }
    line[len] = '\0';
    len = 0;
    control_line(line);
  }
}

// --- setup ------------------------------------------------------------------------------

static int parse_pin(const char* text, pin_setting_t* out) {
  char port;
  unsigned bit, value, at = 0;
  const int n = sscanf(text, "P%c%u=%u@%u", &port, &bit, &value, &at);
  if (n < 3 || port < 'A' || port > 'L' || bit > 7) return -1;
  out->port = port;
  out->bit = (uint8_t)bit;
  out->value = value ? 1 : 0;
  out->at_ms = at;
  out->done = 0;
  return 0;
}

static void make_raw(int fd) {
  struct termios tio;
  if (tcgetattr(fd, &tio) != 0) return;
  cfmakeraw(&tio);
  tcsetattr(fd, TCSANOW, &tio);
}

int main(int argc, char** argv) {
  const char* mcu = "atmega328p";
  const char* elf = NULL;
  unsigned long hz = 16000000, baud = 115200;
  int use_pty = 0;
  unsigned adc_channel[16], adc_mv[16];
  int adc_count = 0;
  sim.fd = -1;
  for (int i = 1; i < argc; ++i) {
    const char* next = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(argv[i], "--fd") == 0 && next) sim.fd = atoi(argv[++i]);
    else if (strcmp(argv[i], "--pty") == 0) use_pty = 1;
    else if (strcmp(argv[i], "--mcu") == 0 && next) mcu = argv[++i];
    else if (strcmp(argv[i], "--hz") == 0 && next) hz = strtoul(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--baud") == 0 && next) baud = strtoul(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--pin") == 0 && next && sim.pin_count < MAX_PINS) {
      if (parse_pin(argv[++i], &sim.pins[sim.pin_count++]) != 0) {
        fprintf(stderr, "kit_sim: --pin wants PD4=1 or PD4=0@400, not %s\n", argv[i]);
        return 2;
      }
    } else if (strcmp(argv[i], "--adc") == 0 && next && adc_count < 16) {
      if (sscanf(argv[++i], "%u=%u", &adc_channel[adc_count], &adc_mv[adc_count]) != 2) {
        fprintf(stderr, "kit_sim: --adc wants CH=MV, not %s\n", argv[i]);
        return 2;
      }
      ++adc_count;
    } else if (argv[i][0] != '-' && elf == NULL) elf = argv[i];
    else {
      fprintf(stderr, "kit_sim: unknown argument %s\n%s", argv[i], usage);
      return 2;
    }
  }
  if (elf == NULL || (sim.fd < 0) == !use_pty || hz == 0 || baud == 0) {
    fprintf(stderr, "%s", usage);
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  int keep_slave = -1;
  if (use_pty) {
    sim.fd = posix_openpt(O_RDWR | O_NOCTTY);
    if (sim.fd < 0 || grantpt(sim.fd) != 0 || unlockpt(sim.fd) != 0) {
      perror("kit_sim: posix_openpt");
      return 2;
    }
    const char* slave = ptsname(sim.fd);
    keep_slave = open(slave, O_RDWR | O_NOCTTY);  // the port stays while no host has it open
    if (keep_slave >= 0) make_raw(keep_slave);
    printf("pty %s\n", slave);
  }
  make_raw(sim.fd);
  fcntl(sim.fd, F_SETFL, fcntl(sim.fd, F_GETFL) | O_NONBLOCK);

  static elf_firmware_t firmware;
  if (elf_read_firmware(elf, &firmware) != 0) {
    fprintf(stderr, "kit_sim: cannot read %s\n", elf);
    return 2;
  }
  sim.avr = avr_make_mcu_by_name(mcu);
  if (sim.avr == NULL) {
    fprintf(stderr, "kit_sim: simavr does not know the MCU %s\n", mcu);
    return 2;
  }
  avr_init(sim.avr);
  sim.avr->log = LOG_ERROR;
  avr_load_firmware(sim.avr, &firmware);
  sim.avr->sleep = skip_sleep;
  no_level_polling(sim.avr);
  sim.avr->frequency = (uint32_t)hz;
  sim.avr->vcc = sim.avr->avcc = sim.avr->aref = 5000;
  sim.hz = (uint32_t)hz;
  sim.cycles_per_byte = (avr_cycle_count_t)(hz * 10 / baud);
  sim.ram_start = (uint16_t)(sim.avr->ioend + 1);
  sim.heap_start = sim.ram_start;
  for (uint32_t i = 0; i < firmware.symbolcount; ++i) {  // the linker's ends of .bss and .noinit
    const char* name = firmware.symbol[i]->symbol;
    const uint16_t at = (uint16_t)(firmware.symbol[i]->addr & 0xFFFF);
    if ((strcmp(name, "__bss_end") == 0 || strcmp(name, "__noinit_end") == 0) && at > sim.heap_start) sim.heap_start = at;
  }
  if (sim.heap_start == sim.ram_start) fprintf(stderr, "kit_sim: no __bss_end in %s: RAM figures unknown\n", elf);
  paint_ram();

  uint32_t uart_flags = 0;  // no console echo of the UART, no sleeping in status polls
  avr_ioctl(sim.avr, AVR_IOCTL_UART_SET_FLAGS('0'), &uart_flags);
  sim.uart_input = avr_io_getirq(sim.avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_INPUT);
  avr_irq_register_notify(avr_io_getirq(sim.avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUTPUT), on_uart_output, NULL);
  avr_irq_register_notify(avr_io_getirq(sim.avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XON), on_uart_xon, NULL);
  for (int i = 0; i < adc_count; ++i) {
    if (set_adc(adc_channel[i], adc_mv[i]) != 0) fprintf(stderr, "kit_sim: no ADC channel %u\n", adc_channel[i]);
  }
  apply_pins(0);
  printf("ready %s %lu\n", mcu, hz);

  int control_open = 1;
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  uint64_t started_ns = monotonic_ns();
  const avr_cycle_count_t slice = hz / 2000;  // 0.5 ms of the board's time between looks at the line
  int exit_code = 0;
  while (!stop_requested) {
    const avr_cycle_count_t until = sim.avr->cycle + slice;
    while (sim.avr->cycle < until) {
      const int was = sim.avr->state;
      const int state = avr_run(sim.avr);
      if (was != state) {  // the loop's length: from waking up to going back to sleep
        if (state == cpu_Sleeping && sim.slept && sim.avr->cycle - sim.woke_at > sim.busy_max) {
          sim.busy_max = sim.avr->cycle - sim.woke_at;
        }
        if (state == cpu_Sleeping) sim.slept = 1;
        if (was == cpu_Sleeping) sim.woke_at = sim.avr->cycle;
      }
      if (state == cpu_Done || state == cpu_Crashed) {
        fprintf(stderr, "kit_sim: the firmware %s at cycle %llu\n", state == cpu_Done ? "stopped" : "crashed",
                (unsigned long long)sim.avr->cycle);
        stop_requested = 1;
        exit_code = 1;
        break;
      }
    }
    const uint64_t board_ns = (uint64_t)((double)sim.avr->cycle * 1e9 / sim.hz);
    apply_pins((uint32_t)(board_ns / 1000000u));
    write_host();
    uint64_t wall_ns = monotonic_ns() - started_ns;
    if (wall_ns > board_ns + MAX_LAG_NS) {
      // Behind the wall clock (the process was stopped, or the machine is busy): the chip does
      // not race to catch up, it simply ran slower for a while, as one consistent machine.
      started_ns += wall_ns - board_ns - MAX_LAG_NS;
      sim.lag_ns += wall_ns - board_ns - MAX_LAG_NS;
      wall_ns = board_ns + MAX_LAG_NS;
    }
    const int64_t ahead_ns = (int64_t)(board_ns - wall_ns);
    // Sleep only once the chip is a whole millisecond ahead: each sleep overshoots a little,
    // and the slices that follow, unslept, make it up.
    struct pollfd fds[2] = {{sim.fd, POLLIN, 0}, {0, POLLIN, 0}};
    struct timespec wait = {0, ahead_ns > 1000000 ? ahead_ns : 0};
    const int ready = ppoll(fds, control_open ? 2 : 1, &wait, NULL);
    if (ready > 0 && (fds[0].revents & POLLIN)) read_host();
    if (ready > 0 && control_open && (fds[1].revents & (POLLIN | POLLHUP))) read_control(&control_open);
    schedule_feed();
  }
  write_host();
  report();
  if (sim.in_dropped || sim.out_dropped) {
    fprintf(stderr, "kit_sim: dropped %llu bytes toward the board, %llu toward the host\n",
            (unsigned long long)sim.in_dropped, (unsigned long long)sim.out_dropped);
  }
  if (keep_slave >= 0) close(keep_slave);
  avr_terminate(sim.avr);
  return exit_code;
}
