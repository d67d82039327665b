// SPDX-License-Identifier: BSD-3-Clause
// Fuzz target: dirigoadm -R input (control/cli/args.hpp, parse_restore and split_words). The
// input is the text read from stdin, in ipvsadm-save format. Rules that parse become one Batch
// request, which must encode and decode again to the same bytes.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "cli/args.hpp"
#include "proto/protocol.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace dirigo::ctl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > 65536) {
        return 0;  // a few thousand rules; longer inputs only slow the search down
    }
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto batch = cli::parse_restore(text, nullptr);
    if (!batch.ok()) {
        DIRIGO_FUZZ_CHECK(!batch.error().message.empty(), "refused -R input says why");
        return 0;
    }
    DIRIGO_FUZZ_CHECK(batch.value().op == Op::Batch, "-R input becomes one Batch request");
    const std::vector<uint8_t> frame = encode_request(batch.value());
    DIRIGO_FUZZ_CHECK(frame.size() >= kHeaderSize, "an encoded request holds a header");
    const auto back = decode_request(std::span(frame).subspan(kHeaderSize));
    DIRIGO_FUZZ_CHECK(back.is_ok(), "parsed -R input encodes to a valid request");
    DIRIGO_FUZZ_CHECK(encode_request(*back) == frame, "-R batch round trip is stable");
    return 0;
}
