// SPDX-License-Identifier: BSD-3-Clause
// Fuzz target: the IPVS sync message decoder (sync/wire.hpp), what the control thread runs on
// every datagram of the sync multicast group. The input is one datagram. It is decoded with
// syncid 0 (any) and 7; both must agree, and a refused message must deliver no record. Every
// record that decodes is built into a fresh v1 message, which must decode to the same record as
// a backup would keep it, and all of them together (split as the builder asks) to the same list.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "sync/wire.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace dirigo::sync;

/// What a v1 message built from `r` decodes to: the backup's flag mask, sequence data exactly
/// when the flags ask for it.
ConnRecord normalised(const ConnRecord& r) {
    ConnRecord n = r;
    n.flags = (r.flags & kBackupFlagsMask) | kFlagSync;
    n.has_seq = (n.flags & kFlagSeqMask) != 0;
    if (!n.has_seq) {
        n.in_seq = {};
        n.out_seq = {};
    }
    return n;
}

/// One message's records, in order (a message holds at most 255).
struct Records {
    std::array<ConnRecord, kMaxConnsPerMessage> rec;
    size_t n = 0;
};

Records g_first;
Records g_again;

void check_rebuilt(const Records& got) {
    static MessageBuilder builder(7, kMaxMessage);
    size_t next = 0;  // index into `got` of the first record of the current rebuilt message
    builder.reset();
    const auto flush = [&](size_t end) {
        g_again.n = 0;
        const DecodeError e = decode(builder.finish(), 7, [&](const ConnRecord& c) {
            DIRIGO_FUZZ_CHECK(g_again.n < end - next, "no more records than were built");
            g_again.rec[g_again.n++] = c;
        });
        DIRIGO_FUZZ_CHECK(e == DecodeError::None, "a built message decodes");
        DIRIGO_FUZZ_CHECK(g_again.n == end - next, "a built message keeps every record");
        for (size_t i = 0; i < g_again.n; ++i) {
            DIRIGO_FUZZ_CHECK(g_again.rec[i] == normalised(got.rec[next + i]),
                              "a record survives encode and decode");
        }
        builder.reset();
        next = end;
    };
    for (size_t i = 0; i < got.n; ++i) {
        if (!builder.add(got.rec[i])) {
            DIRIGO_FUZZ_CHECK(!builder.empty(), "any one record fits an empty message");
            flush(i);
            DIRIGO_FUZZ_CHECK(builder.add(got.rec[i]), "a record fits after reset");
        }
    }
    if (!builder.empty()) {
        flush(got.n);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const uint8_t> in(data, size);
    g_first.n = 0;
    const DecodeError any = decode(in, 0, [](const ConnRecord& c) {
        DIRIGO_FUZZ_CHECK(g_first.n < kMaxConnsPerMessage, "at most 255 records");
        g_first.rec[g_first.n++] = c;
    });
    DIRIGO_FUZZ_CHECK(any == DecodeError::None || g_first.n == 0,
                      "a refused message delivers nothing");
    DIRIGO_FUZZ_CHECK(!error_name(any).empty(), "every error has a name");

    size_t calls = 0;
    const DecodeError seven = decode(in, 7, [&](const ConnRecord&) { ++calls; });
    DIRIGO_FUZZ_CHECK(seven == DecodeError::None || calls == 0,
                      "a refused message delivers nothing");
    if (seven == DecodeError::ForeignSyncid) {
        DIRIGO_FUZZ_CHECK(size >= 2 && data[1] != 7, "only another syncid is foreign");
    } else {
        DIRIGO_FUZZ_CHECK(seven == any, "syncid 7 and any syncid agree on this message");
        DIRIGO_FUZZ_CHECK(calls == g_first.n, "syncid 7 and any syncid give the same records");
    }
    if (any == DecodeError::None) {
        check_rebuilt(g_first);
    }
    return 0;
}
