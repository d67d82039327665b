# shellcheck shell=bash
# SPDX-License-Identifier: BSD-3-Clause
#
# PASS/FAIL bookkeeping for the end-to-end tests. Every check prints one line, "PASS: ..." or
# "FAIL: ...", and t_summary prints "<test>: N passed, M failed" and exits 0 or 1.

T_NAME=${T_NAME:-e2e}
T_PASSED=0
T_FAILED=0

t_pass() {
    T_PASSED=$((T_PASSED + 1))
    echo "PASS: $*"
}

t_fail() {
    T_FAILED=$((T_FAILED + 1))
    echo "FAIL: $*"
}

# t_expect NAME OK: OK is 1 for pass, anything else for fail.
t_expect() {
    if [[ $2 == 1 ]]; then
        t_pass "$1"
    else
        t_fail "$1"
    fi
}

# t_check NAME CMD...: passes when CMD succeeds.
t_check() {
    local name=$1
    shift
    if "$@"; then
        t_pass "$name"
    else
        t_fail "$name"
    fi
}

t_summary() {
    echo "$T_NAME: $T_PASSED passed, $T_FAILED failed"
    if ((T_FAILED > 0 || T_PASSED == 0)); then
        exit 1
    fi
    exit 0
}

# t_unavailable REASON: the machine cannot run this test (no root, no network namespaces). Skips
# (meson's exit code 77), except under CI=true or DIRIGO_E2E_REQUIRED=1, where the end-to-end
# tests are expected to run and a skip would hide a broken test bed: there it fails.
t_unavailable() {
    if [[ ${CI:-} == true || -n ${DIRIGO_E2E_REQUIRED:-} ]]; then
        echo "FAIL: $1 (CI=true or DIRIGO_E2E_REQUIRED set: this test must run here)"
        exit 1
    fi
    echo "SKIP: $1"
    exit 77
}

# t_count WORD LIST...: how many LIST items equal WORD.
t_count() {
    local want=$1 n=0 item
    shift
    for item in "$@"; do
        [[ $item == "$want" ]] && n=$((n + 1))
    done
    echo "$n"
}
