// C++ side of the shared test vectors: decodes and re-encodes every vector in
// test_vectors.json with the ClassroomKit protocol core. Prints one line per failure and a
// summary; exit status 0 only if every check passed.
#include <stdio.h>
#include <string.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../ClassroomKit/src/proto/cobs.h"
#include "../ClassroomKit/src/proto/crc16.h"
#include "../ClassroomKit/src/proto/frame.h"
#include "../ClassroomKit/src/proto/tlv.h"
#include "json.h"

namespace {

int g_checks = 0;
int g_failures = 0;

void check(bool ok, const std::string& what) {
  ++g_checks;
  if (!ok) {
    ++g_failures;
    printf("FAIL %s\n", what.c_str());
  }
}

std::vector<uint8_t> unhex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::string hex(const uint8_t* data, size_t len) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < len; ++i) {
    out.push_back(digits[data[i] >> 4]);
    out.push_back(digits[data[i] & 15]);
  }
  return out;
}

bool same_bytes(const uint8_t* a, const uint8_t* b, size_t len) { return len == 0 || memcmp(a, b, len) == 0; }

uint32_t float_bits(float f) {
  uint32_t b;
  memcpy(&b, &f, 4);
  return b;
}

// Compares a decoded TLV payload with the vector's [key, tag, value] list.
bool fields_match(const uint8_t* payload, size_t len, const json::Value& fields, std::string* why) {
  kit::TlvReader reader(payload, len);
  kit::TlvItem item;
  size_t index = 0;
  while (reader.next(item)) {
    if (index >= fields.items.size()) { *why = "more items than listed"; return false; }
    const json::Value& f = fields.items[index++];
    const std::string key = f.items[0].text, tag = f.items[1].text;
    const json::Value& value = f.items[2];
    if (!item.is(kit::Text(key.c_str()))) { *why = "key " + key; return false; }
    if (item.tag != static_cast<uint8_t>(tag[0])) { *why = "tag of " + key; return false; }
    bool same = false;
    switch (item.tag) {
      case kit::kTagInt: same = item.i == static_cast<int64_t>(value.number); break;
      case kit::kTagFloat: same = float_bits(item.f) == float_bits(static_cast<float>(value.number)); break;
      case kit::kTagBool: same = item.b == value.boolean; break;
      case kit::kTagStr: same = std::string(reinterpret_cast<const char*>(item.s), item.s_len) == value.text; break;
    }
    if (!same) { *why = "value of " + key; return false; }
  }
  if (reader.error()) { *why = "malformed TLV"; return false; }
  if (index != fields.items.size()) { *why = "fewer items than listed"; return false; }
  return true;
}

// Builds a payload from the vector's fields with TlvWriter.
std::vector<uint8_t> encode_fields(const json::Value& fields) {
  std::vector<uint8_t> buf(kit::kMaxPayload);
  kit::TlvWriter w(buf.data(), buf.size());
  for (const json::Value& f : fields.items) {
    const std::string key = f.items[0].text, tag = f.items[1].text;
    const json::Value& value = f.items[2];
    const kit::Text k(key.c_str());
    if (tag == "i") w.put_int(k, static_cast<int32_t>(static_cast<int64_t>(value.number)));
    else if (tag == "f") w.put_float(k, static_cast<float>(value.number));
    else if (tag == "b") w.put_bool(k, value.boolean);
    else w.put_str(k, reinterpret_cast<const uint8_t*>(value.text.data()), value.text.size());
  }
  if (!w.ok()) return {};
  buf.resize(w.size());
  return buf;
}

void test_crc(const json::Value& doc) {
  for (const json::Value& v : doc["crc16"].items) {
    const std::vector<uint8_t> in = unhex(v["input"].text);
    check(kit::crc16(in.data(), in.size()) == static_cast<uint16_t>(v["crc"].number), "crc16 " + v["name"].text);
  }
}

void test_cobs(const json::Value& doc) {
  for (const json::Value& v : doc["cobs"].items) {
    const std::vector<uint8_t> decoded = unhex(v["decoded"].text);
    const std::vector<uint8_t> wire = unhex(v["encoded"].text);
    uint8_t out[600];
    const size_t n = kit::cobs_encode(decoded.data(), decoded.size(), out, sizeof out);
    check(n + 1 == wire.size() && same_bytes(out, wire.data(), n) && wire.back() == 0,
          "cobs encode " + v["decoded"].text.substr(0, 16) + " -> " + hex(out, n).substr(0, 24));
    size_t len = 0;
    const kit::CobsResult r = kit::cobs_decode(wire.data(), wire.size() - 1, out, sizeof out, &len);
    check(r == kit::CobsResult::kOk && len == decoded.size() && same_bytes(out, decoded.data(), len),
          "cobs decode " + v["encoded"].text.substr(0, 16));
  }
}

void test_frames(const json::Value& doc) {
  std::vector<uint8_t> stream;
  for (const json::Value& v : doc["frames"].items) {
    const std::string name = v["name"].text;
    const std::vector<uint8_t> wire = unhex(v["wire"].text);
    const std::vector<uint8_t> payload = unhex(v["payload"].text);
    kit::FrameDecoder decoder;
    int found = 0;
    for (uint8_t b : wire) {
      if (!decoder.push(b)) continue;
      ++found;
      const kit::Frame& f = decoder.frame();
      check(f.version == v["version"].number && f.type == v["type"].number && f.seq == v["seq"].number,
            name + ": header");
      check(f.payload_len == payload.size() && same_bytes(f.payload, payload.data(), payload.size()),
            name + ": payload " + hex(f.payload, f.payload_len));
      if (v.has("fields")) {
        std::string why;
        check(fields_match(f.payload, f.payload_len, v["fields"], &why), name + ": fields: " + why);
      }
    }
    check(found == 1, name + ": decoded " + std::to_string(found) + " frames, want 1");
    // Encode: fields (or text) -> payload -> wire.
    std::vector<uint8_t> built = payload;
    if (v.has("fields")) built = encode_fields(v["fields"]);
    if (v.has("text")) built.assign(v["text"].text.begin(), v["text"].text.end());
    check(built == payload, name + ": encoded payload " + hex(built.data(), built.size()));
    uint8_t out[kit::kMaxWire];
    const size_t n = kit::encode_frame(static_cast<uint8_t>(v["type"].number), static_cast<uint16_t>(v["seq"].number),
                                       built.data(), built.size(), out, sizeof out);
    check(n == wire.size() && same_bytes(out, wire.data(), n), name + ": encoded wire " + hex(out, n));
    stream.insert(stream.end(), wire.begin(), wire.end());
    const char noise[] = "\x13\x37garbage\xff";  // line noise between frames, then a resync
    stream.insert(stream.end(), noise, noise + sizeof noise - 1);
    stream.push_back(0);
  }
  // Every frame survives the noise between them, in order.
  kit::FrameDecoder decoder;
  size_t index = 0;
  for (uint8_t b : stream) {
    if (decoder.push(b)) {
      check(index < doc["frames"].items.size() &&
                decoder.frame().seq == doc["frames"].items[index].fields.at("seq").number,
            "stream: frame " + std::to_string(index) + " in order");
      ++index;
    }
  }
  check(index == doc["frames"].items.size(), "stream: all frames decoded through noise");
}

void test_bad_frames(const json::Value& doc) {
  for (const json::Value& v : doc["bad_frames"].items) {
    const std::vector<uint8_t> wire = unhex(v["wire"].text);
    kit::FrameDecoder decoder;
    bool any = false;
    for (uint8_t b : wire) any = decoder.push(b) || any;
    const kit::DecoderCounters& c = decoder.counters;
    const std::string counter = v["counter"].text;
    const uint32_t named = counter == "bad_cobs" ? c.bad_cobs : counter == "bad_crc" ? c.bad_crc
                         : counter == "oversize" ? c.oversize : counter == "too_short" ? c.too_short
                         : counter == "bad_version" ? c.bad_version : counter == "bad_length" ? c.bad_length : 999;
    const uint32_t total = c.bad_cobs + c.bad_crc + c.oversize + c.too_short + c.bad_version + c.bad_length;
    check(!any && named == 1 && total == 1 && decoder.buffered() == 0, v["name"].text + ": counted as " + counter);
  }
}

void test_bad_payloads(const json::Value& doc) {
  for (const json::Value& v : doc["bad_payloads"].items) {
    const std::vector<uint8_t> p = unhex(v["payload"].text);
    check(!kit::TlvReader(p.data(), p.size()).valid(), "bad payload rejected: " + v["name"].text);
  }
}

// TlvWriter::window(), as Device sends TELEMETRY in parts: the parts, one after the other, hold
// every item once and in order; each part stays within its cap unless a single item is larger.
void test_tlv_window() {
  const char* keys[] = {"motor_l", "motor_r", "distance", "line", "colour", "a_rather_long_key_name_x"};
  auto write_all = [&](kit::TlvWriter& w) {
    for (int i = 0; i < 5; ++i) w.put_int(kit::Text(keys[i]), i * 1000);
    w.put_str(kit::Text(keys[5]), kit::Text("twenty-one bytes long"));
    w.put_bool(kit::Text("host"), true);
  };
  uint8_t full[200];
  kit::TlvWriter whole(full, sizeof full);
  write_all(whole);
  for (uint8_t cap : {1, 14, 20, 30, 40, 200}) {
    const std::string name = "tlv window of " + std::to_string(cap) + " bytes";
    std::vector<uint8_t> joined;
    uint8_t skip = 0;
    int parts = 0;
    bool sizes_ok = true;
    do {
      uint8_t buf[200];
      kit::TlvWriter w(buf, sizeof buf);
      w.window(skip, cap);
      write_all(w);
      kit::TlvReader reader(buf, w.size());
      kit::TlvItem item;
      int items = 0;
      while (reader.next(item)) ++items;
      sizes_ok = sizes_ok && w.ok() && w.size() > 0 && (w.size() <= cap || items == 1);
      joined.insert(joined.end(), buf, buf + w.size());
      check(w.rest() == 0 || w.rest() > skip, name + ": a part moves on");
      skip = w.rest();
    } while (skip != 0 && ++parts < 20);
    check(sizes_ok, name + ": every part within its cap, or one item alone");
    check(joined.size() == whole.size() && same_bytes(joined.data(), full, whole.size()),
          name + ": the parts are the payload " + hex(joined.data(), joined.size()));
  }
  uint8_t buf[64];
  kit::TlvWriter w(buf, sizeof buf);
  w.window(0, 14);
  write_all(w);
  w.end_window().put_bool(kit::Text("more"), true);
  check(w.rest() == 1 && w.size() == 13 + 7, "tlv window: `more` goes after the part's items");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: test_vectors test_vectors.json\n");
    return 2;
  }
  std::ifstream file(argv[1]);
  if (!file) {
    fprintf(stderr, "test_vectors: cannot read %s\n", argv[1]);
    return 2;
  }
  std::stringstream text;
  text << file.rdbuf();
  const std::string content = text.str();
  try {
    const json::Value doc = json::Parser(content).parse();
    test_crc(doc);
    test_cobs(doc);
    test_frames(doc);
    test_bad_frames(doc);
    test_bad_payloads(doc);
    test_tlv_window();
  } catch (const std::exception& err) {
    printf("FAIL %s\n", err.what());
    return 1;
  }
  printf("%d checks, %d failures\n", g_checks, g_failures);
  return g_failures == 0 ? 0 : 1;
}
