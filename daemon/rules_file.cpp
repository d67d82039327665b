// SPDX-License-Identifier: BSD-3-Clause
#include "daemon/rules_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "cli/args.hpp"
#include "cli/format.hpp"
#include "dataplane/log.hpp"

namespace dirigo::daemon {

std::string render_rules(const ctl::ModelStore& model) {
    std::vector<ctl::ServiceInfo> list;
    list.reserve(model.services().size());
    for (const ctl::ServiceState& s : model.services()) {
        ctl::ServiceInfo si;
        si.service = s.svc;
        si.service.servers.clear();
        for (const cfg::RealServer& d : s.svc.servers) {
            ctl::DestInfo di;
            di.server = d;
            si.dests.push_back(di);
        }
        list.push_back(std::move(si));
    }
    ctl::cli::FormatOpts opts;
    opts.numeric = true;
    const ctl::cli::NumericNamer namer;
    std::string out = "# Saved by dirigo " DIRIGO_VERSION "; read back at start (dirigoadm -R format)\n";
    out += ctl::cli::format_save(list, opts, namer);
    // The mark rules, in order, as --list-marks prints them (dirigoadm -R reads them back).
    out += ctl::cli::format_marks(model.marks());
    const cfg::TimeoutCfg& t = model.timeouts();
    out += "--set " + std::to_string(t.tcp) + " " + std::to_string(t.tcp_fin) + " " +
           std::to_string(t.udp) + "\n";
    return out;
}

Result<ctl::Request> read_rules(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (errno == ENOENT) {
            ctl::Request empty;
            empty.op = ctl::Op::Batch;
            return empty;
        }
        return Status(Errc::Io, "rules file " + path + ": " + std::strerror(errno));
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    const ctl::cli::NumericResolver numeric;
    ctl::cli::Outcome<ctl::Request> batch = ctl::cli::parse_restore(ss.str(), &numeric);
    if (!batch.ok()) {
        return Status(Errc::Invalid, "rules file " + path + ": " + batch.error().message);
    }
    return batch.value();
}

Status write_atomic(const std::string& path, const std::string& text) {
    const size_t slash = path.rfind('/');
    if (slash != std::string::npos && slash > 0) {
        const std::string dir = path.substr(0, slash);
        if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
            return Status(Errc::Io, "cannot create " + dir + ": " + std::strerror(errno));
        }
    }
    const std::string tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        return Status(Errc::Io, "cannot write " + tmp + ": " + std::strerror(errno));
    }
    size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            const int e = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            return Status(Errc::Io, "cannot write " + tmp + ": " + std::strerror(e));
        }
        done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        const int e = errno;
        ::unlink(tmp.c_str());
        return Status(Errc::Io, "cannot write " + tmp + ": " + std::strerror(e));
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int e = errno;
        ::unlink(tmp.c_str());
        return Status(Errc::Io, "cannot rename " + tmp + " to " + path + ": " + std::strerror(e));
    }
    return {};
}

RulesSaver::RulesSaver(std::string path, uint64_t saved_generation)
    : path_(std::move(path)),
      saved_gen_(saved_generation),
      seen_gen_(saved_generation),
      thread_([this] { writer(); }) {}

RulesSaver::~RulesSaver() {
    {
        std::lock_guard<std::mutex> lk(mu_);
        stopping_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) {
        thread_.join();
    }
}

void RulesSaver::tick(const ctl::ModelStore& model, uint64_t generation, uint64_t now_ms) {
    if (generation == saved_gen_) {
        return;
    }
    if (generation != seen_gen_) {
        if (seen_gen_ == saved_gen_) {
            first_change_ms_ = now_ms;
        }
        seen_gen_ = generation;
        last_change_ms_ = now_ms;
    }
    if (now_ms - last_change_ms_ < kQuietMs && now_ms - first_change_ms_ < kMaxDelayMs) {
        return;
    }
    std::string text = render_rules(model);
    {
        std::lock_guard<std::mutex> lk(mu_);
        pending_ = std::move(text);
        has_pending_ = true;
    }
    cv_.notify_one();
    saved_gen_ = generation;
    seen_gen_ = generation;
}

void RulesSaver::stop(const ctl::ModelStore& model, uint64_t generation) {
    {
        std::lock_guard<std::mutex> lk(mu_);
        // At stop the file is written whether or not it changed: it then always holds the rules
        // the daemon stopped with.
        pending_ = render_rules(model);
        has_pending_ = true;
        stopping_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) {
        thread_.join();
    }
    saved_gen_ = generation;
}

void RulesSaver::writer() {
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
        cv_.wait(lk, [this] { return has_pending_ || stopping_; });
        if (has_pending_) {
            std::string text = std::move(pending_);
            has_pending_ = false;
            lk.unlock();
            if (Status s = write_atomic(path_, text); !s) {
                DIRIGO_LOG(ERR, "rules not saved: %s", s.message().c_str());
            } else {
                DIRIGO_LOG(DEBUG, "rules saved to %s", path_.c_str());
            }
            lk.lock();
            continue;
        }
        if (stopping_) {
            return;
        }
    }
}

}  // namespace dirigo::daemon
