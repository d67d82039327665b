// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// Pre-built traffic for the benchmarks: a fast seeded PRNG, a Zipf sampler, the sequences of flow
/// indices a generator walks (uniform or Zipf popularity), and the mapping from a flow index to its
/// client endpoint. Sequences are computed before timing so the generator only reads an array.
/// Thread: any. Cost: building a sequence is O(length) and allocates it; lookups are O(1).

#include <cmath>
#include <cstdint>
#include <vector>

#include <rte_byteorder.h>

namespace dirigo::bench {

/// SplitMix64: tiny, fast, good enough for picking flows.
class SplitMix64 {
public:
    explicit SplitMix64(uint64_t seed) : s_(seed) {}
    /// The next 64 random bits.
    uint64_t next() noexcept {
        uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    /// Uniform in [0, n) by multiply-shift (no division).
    uint32_t below(uint32_t n) noexcept {
        return static_cast<uint32_t>(((next() >> 32) * static_cast<uint64_t>(n)) >> 32);
    }
    /// Uniform in [0, 1).
    double unit() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

private:
    uint64_t s_;
};

/// Zipf(n, s) ranks in [1, n] by rejection-inversion (Hoermann and Derflinger 1996, as in Apache
/// Commons' RejectionInversionZipfSampler): O(1) per sample whatever n is.
class ZipfSampler {
public:
    ZipfSampler(uint64_t n, double s)
        : n_(static_cast<double>(n)),
          e_(s),
          h_x1_(h_integral(1.5) - 1.0),
          h_n_(h_integral(n_ + 0.5)),
          s_(2.0 - h_integral_inverse(h_integral(2.5) - h(2.0))) {}

    /// One rank in [1, n]; rank k has probability k^-s / H(n, s).
    uint64_t sample(SplitMix64& rng) const {
        for (;;) {
            const double u = h_n_ + rng.unit() * (h_x1_ - h_n_);
            const double x = h_integral_inverse(u);
            double k = std::floor(x + 0.5);
            if (k < 1.0) {
                k = 1.0;
            } else if (k > n_) {
                k = n_;
            }
            if (k - x <= s_ || u >= h_integral(k + 0.5) - h(k)) {
                return static_cast<uint64_t>(k);
            }
        }
    }

private:
    static double helper1(double x) {
        return std::fabs(x) > 1e-8 ? std::log1p(x) / x : 1.0 - x * (0.5 - x * (1.0 / 3 - 0.25 * x));
    }
    static double helper2(double x) {
        return std::fabs(x) > 1e-8 ? std::expm1(x) / x
                                   : 1.0 + x * 0.5 * (1.0 + x * (1.0 / 3) * (1.0 + 0.25 * x));
    }
    double h_integral(double x) const {
        const double lx = std::log(x);
        return helper2((1.0 - e_) * lx) * lx;
    }
    double h(double x) const { return std::exp(-e_ * std::log(x)); }
    double h_integral_inverse(double x) const {
        double t = x * (1.0 - e_);
        if (t < -1.0) {
            t = -1.0;
        }
        return std::exp(helper1(t) * x);
    }

    double n_;
    double e_;
    double h_x1_;
    double h_n_;
    double s_;
};

/// How often each flow is picked: all alike, or Zipf (a few flows carry most packets).
enum class Popularity : uint8_t { Uniform, Zipf };

/// The Zipf exponent used throughout (YCSB's default).
inline constexpr double kZipfExponent = 0.99;

/// `len` flow indices in [0, n_flows): uniform, or Zipf ranks scattered over the flows by a
/// multiplicative permutation (so the popular flows are not the first ones created, whose
/// entries would sit next to each other). Deterministic for a given seed.
inline std::vector<uint32_t> flow_sequence(uint32_t n_flows, Popularity pop, size_t len,
                                           uint64_t seed) {
    std::vector<uint32_t> seq(len);
    SplitMix64 rng(seed);
    if (pop == Popularity::Uniform) {
        for (auto& f : seq) {
            f = rng.below(n_flows);
        }
        return seq;
    }
    const ZipfSampler z(n_flows, kZipfExponent);
    // 1000003 is prime and larger than no flow count used here divides: a bijection mod n.
    constexpr uint64_t kScatter = 1000003;
    for (auto& f : seq) {
        f = static_cast<uint32_t>(((z.sample(rng) - 1) * kScatter) % n_flows);
    }
    return seq;
}

/// Clients live in 198.18.0.0/15 (RFC 2544's benchmarking range): flow f is address
/// 198.18.0.0 + (f >> 15), source port 32768 + (f & 0x7fff). 2^32 flows would not fit, 2^31 do.
inline constexpr uint32_t kClientBase = (198u << 24) | (18u << 16);
inline constexpr uint32_t kPortsPerClient = 1u << 15;
/// The client address of flow `f`, network order.
inline uint32_t client_addr(uint32_t f) {
    return rte_cpu_to_be_32(kClientBase + (f >> 15));
}
/// The client port of flow `f`, network order.
inline uint16_t client_port(uint32_t f) {
    return rte_cpu_to_be_16(static_cast<uint16_t>(32768u + (f & (kPortsPerClient - 1))));
}
/// The flow index of a client endpoint (network order).
inline uint32_t flow_of(uint32_t addr, uint16_t port) {
    return ((rte_be_to_cpu_32(addr) - kClientBase) << 15) | (rte_be_to_cpu_16(port) - 32768u);
}

}  // namespace dirigo::bench
