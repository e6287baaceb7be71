// Host build of the kit firmware: the same ClassroomKit code as on the board, with the
// serial line on a pseudo-terminal (or stdin/stdout) and simulated sensors.
// Nothing but frames is ever written to the serial line; diagnostics go to stderr.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "../ClassroomKit/src/ClassroomKit.h"
#include "sim_hardware.h"

namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

uint64_t monotonic_us() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

uint32_t millis() { return static_cast<uint32_t>(monotonic_us() / 1000u); }

void stamp_telemetry(kit::TlvWriter& out) {
  out.put_int(KIT_TEXT("tx_us"), static_cast<int32_t>(monotonic_us() & 0x7FFFFFFF));
}

const char kUsage[] =
    "usage: kit_host --kit vinaponics|robot (--port PATH | --fd N | --pty | --stdio | --fuzz-stdin)\n"
    "  --id ID               device id (default: <kit>-sim-1)\n"
    "  --telemetry-ms N      telemetry period (default 1000)\n"
    "  --heartbeat-ms N      board heartbeat period (default 500)\n"
    "  --host-timeout-ms N   host silence before the host counts as lost (robot 1500, node 3000)\n"
    "  --drop-commands N     ignore the first N commands, as if the cable lost them\n"
    "  --drop-replies N      run the first N commands but lose their ACK/NACK\n"
    "  --estop-at MS         robot: press the emergency stop button MS after start\n"
    "  --seed N              simulator random seed\n"
    "  --sim-stdin           read simulator control lines on stdin: \"ph 5.2\" pins a reading,\n"
    "                        \"ph -\" releases it (robot: battery, distance)\n"
    "  --stamp               add tx_us (CLOCK_MONOTONIC us mod 2^31) to telemetry, for latency benches\n"
    "  --verbose             log link counters to stderr on exit\n"
    "  --report              print \"rx N US\" / \"tx N US\" on stdout when the N-th frame end (0x00)\n"
    "                        arrives or leaves (CLOCK_MONOTONIC us), as kit_sim does in board time\n"
    "  --pty prints the slave path it created on stdout, then serves it.\n"
    "  --fuzz-stdin feeds stdin to the link in random chunks with simulated time and prints\n"
    "  the decoder counters as one JSON line on stdout.\n";

struct Options {
  std::string kit;
  std::string id;
  std::string port;
  int fd = -1;
  bool pty = false;
  bool stdio = false;
  bool fuzz = false;
  long telemetry_ms = 1000;
  long heartbeat_ms = 500;
  long host_timeout_ms = -1;
  long drop_commands = 0;
  long drop_replies = 0;
  long estop_at = -1;
  unsigned long seed = 1;
  bool stamp = false;
  bool verbose = false;
  bool sim_stdin = false;
  bool report = false;
};

bool parse_long(const char* text, long low, long high, long* out) {
  char* end = nullptr;
  errno = 0;
  const long value = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < low || value > high) return false;
  *out = value;
  return true;
}

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const char* next = i + 1 < argc ? argv[i + 1] : nullptr;
    long value = 0;
    auto number = [&](long low, long high, long* out) {
      if (next == nullptr || !parse_long(next, low, high, out)) {
        fprintf(stderr, "kit_host: %s needs a number in %ld..%ld\n", arg.c_str(), low, high);
        return false;
      }
      ++i;
      return true;
    };
    if (arg == "--kit" && next) { o.kit = next; ++i; }
    else if (arg == "--id" && next) { o.id = next; ++i; }
    else if (arg == "--port" && next) { o.port = next; ++i; }
    else if (arg == "--fd") { if (!number(0, 65535, &value)) return false; o.fd = static_cast<int>(value); }
    else if (arg == "--pty") o.pty = true;
    else if (arg == "--stdio") o.stdio = true;
    else if (arg == "--fuzz-stdin") o.fuzz = true;
    else if (arg == "--telemetry-ms") { if (!number(1, 60000, &o.telemetry_ms)) return false; }
    else if (arg == "--heartbeat-ms") { if (!number(1, 60000, &o.heartbeat_ms)) return false; }
    else if (arg == "--host-timeout-ms") { if (!number(1, 60000, &o.host_timeout_ms)) return false; }
    else if (arg == "--drop-commands") { if (!number(0, 1000, &o.drop_commands)) return false; }
    else if (arg == "--drop-replies") { if (!number(0, 1000, &o.drop_replies)) return false; }
    else if (arg == "--estop-at") { if (!number(0, 86400000, &o.estop_at)) return false; }
    else if (arg == "--seed") { if (!number(0, 2147483647, &value)) return false; o.seed = static_cast<unsigned long>(value); }
    else if (arg == "--stamp") o.stamp = true;
    else if (arg == "--sim-stdin") o.sim_stdin = true;
    else if (arg == "--verbose") o.verbose = true;
    else if (arg == "--report") o.report = true;
    else {
      fprintf(stderr, "kit_host: unknown argument %s\n%s", arg.c_str(), kUsage);
      return false;
    }
  }
  const int modes = (o.port.empty() ? 0 : 1) + (o.fd >= 0) + o.pty + o.stdio + o.fuzz;
  if ((o.kit != "vinaponics" && o.kit != "robot") || modes != 1 || (o.sim_stdin && (o.stdio || o.fuzz))) {
    fprintf(stderr, "%s", kUsage);
    return false;
  }
  if (o.id.empty()) o.id = o.kit + "-sim-1";
  if (o.host_timeout_ms < 0) o.host_timeout_ms = o.kit == "robot" ? 1500 : 3000;
  return true;
}

void make_raw(int fd) {
  termios tio;
  if (tcgetattr(fd, &tio) != 0) return;  // a pipe: nothing to configure
  cfmakeraw(&tio);
  cfsetispeed(&tio, B115200);
  cfsetospeed(&tio, B115200);
  tcsetattr(fd, TCSANOW, &tio);
}

void set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

// A file descriptor as the board's serial line. Writes that cannot go out within 50 ms
// (nobody reading the pty) are dropped, as a USB CDC port does with no host attached.
class FdPort : public kit::Port {
 public:
  FdPort(int read_fd, int write_fd) : rfd_(read_fd), wfd_(write_fd) {}
  bool ready() override { return true; }  // write() sends before it returns
  // Reads the fd in large pieces and hands them out as asked (the Device takes one byte at a time).
  size_t read(uint8_t* buf, size_t cap) override {
    if (pos_ == len_) {
      pos_ = len_ = 0;
      pollfd p{rfd_, POLLIN, 0};
      if (poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN)) return 0;
      const ssize_t n = ::read(rfd_, in_, sizeof in_);
      if (n == 0 && !isatty(rfd_)) eof = true;
      if (n <= 0) return 0;
      len_ = static_cast<size_t>(n);
      if (report) stamp("rx", in_, len_, &rx_ends_);
    }
    size_t n = len_ - pos_;
    if (n > cap) n = cap;
    memcpy(buf, in_ + pos_, n);
    pos_ += n;
    return n;
  }
  void write(const uint8_t* data, size_t len) override {
    if (report) stamp("tx", data, len, &tx_ends_);
    size_t done = 0;
    int waited = 0;
    while (done < len) {
      const ssize_t n = ::write(wfd_, data + done, len - done);
      if (n > 0) { done += static_cast<size_t>(n); continue; }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN && waited < 50) {
        pollfd p{wfd_, POLLOUT, 0};
        poll(&p, 1, 10);
        waited += 10;
        continue;
      }
      dropped += len - done;
      return;
    }
  }
  bool eof = false;
  bool report = false;
  size_t dropped = 0;

 private:
  static void stamp(const char* what, const uint8_t* data, size_t len, unsigned long long* ends) {
    for (size_t i = 0; i < len; ++i) {
      if (data[i] == 0) printf("%s %llu %llu\n", what, (*ends)++, static_cast<unsigned long long>(monotonic_us()));
    }
    fflush(stdout);
  }
  int rfd_, wfd_;
  uint8_t in_[4096];
  size_t pos_ = 0, len_ = 0;
  unsigned long long rx_ends_ = 0, tx_ends_ = 0;
};

// Stdin in random-sized chunks, with every byte the board sends checked by a second decoder.
class FuzzPort : public kit::Port {
 public:
  FuzzPort(const std::vector<uint8_t>& input, uint32_t seed) : in_(input), rng_(seed) {}
  bool ready() override { return true; }
  // One chunk of 1..64 bytes per poll, so time moves between chunks; the Device takes it a
  // byte (or a few) at a time.
  size_t read(uint8_t* buf, size_t cap) override {
    if (chunk_left_ == 0) {
      starve_ = !starve_;
      if (!starve_ || pos_ >= in_.size()) return 0;
      chunk_left_ = 1 + rng_.next() % 64;
      if (chunk_left_ > in_.size() - pos_) chunk_left_ = in_.size() - pos_;
    }
    size_t n = chunk_left_ < cap ? chunk_left_ : cap;
    memcpy(buf, in_.data() + pos_, n);
    pos_ += n;
    chunk_left_ -= n;
    return n;
  }
  void write(const uint8_t* data, size_t len) override {
    for (size_t i = 0; i < len; ++i) {
      if (check_.push(data[i])) ++tx_frames;
    }
  }
  bool done() const { return pos_ >= in_.size(); }
  uint32_t tx_bad() const {
    const kit::DecoderCounters& c = check_.counters;
    return c.bad_cobs + c.bad_crc + c.oversize + c.too_short + c.bad_version + c.bad_length +
           static_cast<uint32_t>(check_.buffered());
  }
  uint32_t tx_frames = 0;

 private:
  const std::vector<uint8_t>& in_;
  size_t pos_ = 0;
  size_t chunk_left_ = 0;
  bool starve_ = false;
  sim::Random rng_;
  kit::FrameDecoder check_;
};

// Simulator control lines on stdin (--sim-stdin), read without blocking the firmware loop.
class ControlLines {
 public:
  template <typename Hardware>
  void read(Hardware& hardware) {
    char buf[256];
    const ssize_t n = ::read(0, buf, sizeof buf);
    if (n <= 0) {
      if (n == 0 || (errno != EAGAIN && errno != EINTR)) open = false;
      return;
    }
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] != '\n') {
        if (line_.size() < 200) line_ += buf[i];
        continue;
      }
      if (!hardware.control(line_.c_str())) fprintf(stderr, "kit_host: bad control line: %s\n", line_.c_str());
      line_.clear();
    }
  }
  bool open = true;

 private:
  std::string line_;
};

template <typename KitT, typename Hardware>
int serve(const Options& o, Hardware& hardware) {
  KitT kit_logic(hardware);
  const kit::Identity identity{kit::Text(o.id.c_str()),
                               KitT::kind(),
                               KIT_TEXT("1.0.0-host"),
                               KitT::commands(),
                               KitT::outputs(),
                               static_cast<uint16_t>(o.heartbeat_ms),
                               static_cast<uint16_t>(o.host_timeout_ms),
                               static_cast<uint16_t>(o.telemetry_ms)};

  if (o.fuzz) {
    std::vector<uint8_t> input;
    uint8_t buf[65536];
    ssize_t n;
    while ((n = ::read(0, buf, sizeof buf)) > 0) input.insert(input.end(), buf, buf + n);
    FuzzPort port(input, static_cast<uint32_t>(o.seed));
    kit::Device device(port, identity, kit_logic);
    sim::Random clock_steps(static_cast<uint32_t>(o.seed) ^ 0x5A5A5A5Au);
    uint32_t now = 1000;
    device.begin(now);
    while (!port.done()) {
      now += clock_steps.next() % 4;
      device.poll(now);
    }
    for (int i = 0; i < 400; ++i) {  // let timeouts, heartbeats and telemetry run out
      now += 10;
      device.poll(now);
    }
    const kit::DecoderCounters& c = device.decoder_counters();
    printf("{\"input\": %zu, \"frames\": %u, \"bad_cobs\": %u, \"bad_crc\": %u, \"oversize\": %u, "
           "\"too_short\": %u, \"bad_version\": %u, \"bad_length\": %u, \"buffered\": %zu, \"commands\": %u, "
           "\"tx_frames\": %u, \"tx_bad\": %u}\n",
           input.size(), c.frames, c.bad_cobs, c.bad_crc, c.oversize, c.too_short, c.bad_version,
           c.bad_length, device.decoder_buffered(), device.counters.commands, port.tx_frames, port.tx_bad());
    return 0;
  }

  int rfd = -1, wfd = -1, keep_slave = -1;
  if (o.stdio) {
    rfd = 0;
    wfd = 1;
  } else if (o.fd >= 0) {
    rfd = wfd = o.fd;
  } else if (o.pty) {
    const int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
      perror("kit_host: posix_openpt");
      return 2;
    }
    const char* slave_path = ptsname(master);
    // Hold the slave open so the master never reads as hung up while no host is attached.
    keep_slave = open(slave_path, O_RDWR | O_NOCTTY);
    if (keep_slave >= 0) make_raw(keep_slave);
    printf("%s\n", slave_path);
    fflush(stdout);
    rfd = wfd = master;
  } else {
    rfd = wfd = open(o.port.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (rfd < 0) {
      fprintf(stderr, "kit_host: cannot open %s: %s\n", o.port.c_str(), strerror(errno));
      return 2;
    }
  }
  if (!o.stdio) {
    make_raw(rfd);
    set_nonblocking(rfd);
  }

  FdPort port(rfd, wfd);
  port.report = o.report && !o.stdio;
  kit::Device device(port, identity, kit_logic);
  device.drop_commands = static_cast<uint16_t>(o.drop_commands);
  device.drop_replies = static_cast<uint16_t>(o.drop_replies);
  if (o.stamp) device.extra_telemetry = stamp_telemetry;
  ControlLines control;
  control.open = o.sim_stdin;
  if (control.open) set_nonblocking(0);
  device.begin(millis());
  while (!g_stop && !port.eof) {
    const uint32_t now = millis();
    device.poll(now);
    uint32_t wait = device.idle_ms(now);
    if (wait > 10) wait = 10;  // the kit's own loop (sensors, programs) runs at least every 10 ms
    pollfd p[2] = {{rfd, POLLIN, 0}, {0, POLLIN, 0}};
    const int ready = poll(p, control.open ? 2 : 1, static_cast<int>(wait));
    if (ready > 0 && control.open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) control.read(hardware);
    if (ready > 0 && (p[0].revents & (POLLHUP | POLLERR)) && !(p[0].revents & POLLIN)) {
      usleep(wait * 1000u);  // nobody on the other end of the pty: do not spin
    }
  }
  if (o.verbose) {
    const kit::DecoderCounters& c = device.decoder_counters();
    fprintf(stderr,
            "kit_host %s: frames %u bad_cobs %u bad_crc %u oversize %u too_short %u bad_version %u bad_length %u "
            "commands %u duplicates %u test_drops %u out %u dropped_bytes %zu\n",
            o.id.c_str(), c.frames, c.bad_cobs, c.bad_crc, c.oversize, c.too_short, c.bad_version,
            c.bad_length, device.counters.commands, device.counters.duplicates, device.counters.test_drops,
            device.counters.frames_out, port.dropped);
  }
  if (keep_slave >= 0) close(keep_slave);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, o)) return 2;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  const uint32_t seed = static_cast<uint32_t>(o.seed);
  if (o.kit == "robot") {
    sim::RobotSim hardware(seed, o.estop_at);
    return serve<kit::RobotKit>(o, hardware);
  }
  sim::VinaponicsSim hardware(seed);
  return serve<kit::VinaponicsNode>(o, hardware);
}
