// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// Error values for the control plane and the config loader. The data path never uses these: it
/// returns verdicts and counts drops (docs/architecture.md, "Errors").

#include <string>
#include <utility>
#include <variant>

namespace dirigo {

/// An error: a code that scripts can branch on and a message for people.
/// Codes are part of the control protocol (docs/control-protocol.md): never renumber.
enum class Errc : uint32_t {
    Ok = 0,
    Invalid = 1,           ///< malformed or out-of-range argument
    NoService = 2,         ///< "Service not defined"
    ServiceExists = 3,     ///< "Service already exists"
    NoDest = 4,            ///< "No such destination"
    DestExists = 5,        ///< "Destination already exists"
    NoScheduler = 6,       ///< unknown scheduler name
    Unsupported = 7,       ///< valid request that this build does not do
    Protocol = 8,          ///< malformed frame or version mismatch
    Resource = 9,          ///< a configured limit was reached
    Internal = 10,         ///< impossible state; a bug
    Io = 11,               ///< file or socket error
    DaemonRunning = 12,    ///< "Daemon has already run" (a sync daemon of that role runs)
    NoDaemon = 13,         ///< "No daemon is running" (no sync daemon of that role)
    NoDevice = 14,         ///< no such network interface
};

/// Success or an error with a message. Cheap to return when ok.
class [[nodiscard]] Status {
public:
    Status() = default;
    Status(Errc code, std::string msg) : code_(code), msg_(std::move(msg)) {}
    static Status ok() { return {}; }

    bool is_ok() const { return code_ == Errc::Ok; }
    explicit operator bool() const { return is_ok(); }
    Errc code() const { return code_; }
    const std::string& message() const { return msg_; }

private:
    Errc code_ = Errc::Ok;
    std::string msg_;
};

/// A value or the Status that explains its absence.
template <class T>
class [[nodiscard]] Result {
public:
    Result(T v) : v_(std::move(v)) {}  // NOLINT(google-explicit-constructor)
    Result(Status s) : v_(std::move(s)) {}  // NOLINT(google-explicit-constructor)
    Result(Errc code, std::string msg) : v_(Status(code, std::move(msg))) {}

    bool is_ok() const { return std::holds_alternative<T>(v_); }
    explicit operator bool() const { return is_ok(); }
    T& value() { return std::get<T>(v_); }
    const T& value() const { return std::get<T>(v_); }
    T& operator*() { return value(); }
    const T& operator*() const { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    Status status() const { return is_ok() ? Status() : std::get<Status>(v_); }

private:
    std::variant<T, Status> v_;
};

}  // namespace dirigo
