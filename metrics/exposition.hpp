// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// Prometheus text exposition (format 0.0.4) of a Sample.
///
/// The IPVS part uses node_exporter's IPVS collector names, help texts, types and labels, so
/// dashboards and alerts written for a kernel director work unchanged:
///   node_ipvs_{connections,incoming_packets,outgoing_packets,incoming_bytes,outgoing_bytes}_total
///     (counters, no labels: the whole director, like /proc/net/ip_vs_stats);
///   node_ipvs_backend_connections_{active,inactive}, node_ipvs_backend_weight (gauges, one per
///     real server of each service, labels local_address, local_mark, local_port, proto,
///     remote_address, remote_port; local_mark is "" since Dirigo has no firewall-mark services).
/// Dirigo's own metrics start with `dirigo_` (see docs/operations.md for the list).

#include <string>
#include <string_view>

#include "metrics/sample.hpp"

namespace dirigo::metrics {

/// The Content-Type of render_prometheus's output.
inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

/// Renders `s` in the Prometheus text format. Thread: any. O(services + servers + ports +
/// workers); allocates the result.
std::string render_prometheus(const Sample& s);

/// `v` escaped for a label value (backslash, double quote and newline). Thread: any.
std::string escape_label(std::string_view v);

}  // namespace dirigo::metrics
