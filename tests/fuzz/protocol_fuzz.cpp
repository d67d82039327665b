// SPDX-License-Identifier: BSD-3-Clause
// Fuzz target: the control protocol decoder (control/protocol.hpp), what the daemon runs on every
// byte a client sends. The input is one frame, header and payload. The header goes through
// decode_header, the payload through both decode_request and decode_reply whatever the header
// says. Whatever decodes must survive a round trip: encoding it gives a frame whose header and
// payload decode again, to a message that encodes to the same bytes.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "proto/protocol.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace dirigo::ctl;

/// `frame` from an encoder: its header must decode and announce exactly its payload.
std::span<const uint8_t> payload_of(const std::vector<uint8_t>& frame, MsgType type) {
    DIRIGO_FUZZ_CHECK(frame.size() >= kHeaderSize, "an encoded frame holds a header");
    const auto h = decode_header(std::span(frame).first(kHeaderSize));
    DIRIGO_FUZZ_CHECK(h.is_ok(), "an encoded header decodes");
    DIRIGO_FUZZ_CHECK(h->type == type, "an encoded header keeps its type");
    DIRIGO_FUZZ_CHECK(h->length == frame.size() - kHeaderSize, "header length = payload size");
    return std::span(frame).subspan(kHeaderSize);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const uint8_t> in(data, size);
    if (size >= kHeaderSize) {
        const auto h = decode_header(in.first(kHeaderSize));
        if (h.is_ok()) {
            DIRIGO_FUZZ_CHECK(h->length <= kMaxPayload, "decode_header enforces kMaxPayload");
        }
    }
    const auto payload = size >= kHeaderSize ? in.subspan(kHeaderSize) : in;
    if (auto req = decode_request(payload); req.is_ok()) {
        const std::vector<uint8_t> frame = encode_request(*req);
        const auto again = decode_request(payload_of(frame, MsgType::Request));
        DIRIGO_FUZZ_CHECK(again.is_ok(), "a decoded request re-encodes to a valid request");
        DIRIGO_FUZZ_CHECK(encode_request(*again) == frame, "request round trip is stable");
    }
    if (auto rep = decode_reply(payload); rep.is_ok()) {
        const std::vector<uint8_t> frame = encode_reply(*rep);
        const auto again = decode_reply(payload_of(frame, MsgType::Reply));
        DIRIGO_FUZZ_CHECK(again.is_ok(), "a decoded reply re-encodes to a valid reply");
        DIRIGO_FUZZ_CHECK(encode_reply(*again) == frame, "reply round trip is stable");
    }
    return 0;
}
