#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Install test (docs/operations.md, "Packaging"): `meson install --destdir` of the build into a
# fresh temporary directory, then
#  - every file `meson introspect --installed` names is there, and the ones a package needs by
#    name: dirigo (sbindir), dirigoadm (bindir), libdirigo-ipvs.so (libdir/dirigo, a private
#    directory: an LD_PRELOAD library, not a public one, and nothing else in libdir), the unit
#    (prefix/lib/systemd/system), the man pages dirigo.8, dirigo.conf.5, dirigoadm.8 and the
#    example config (sysconfdir/dirigo/dirigo.conf);
#  - the installed binaries run from there: `dirigo --version` names the project's version and no
#    library is missing (nor taken from the build directory); `dirigo --check` accepts the
#    installed config; `dirigoadm -h` names the version. `dirigoadm --version`, like
#    `ipvsadm -v`, names the running daemon's version as well, so with none it must fail with
#    "cannot connect" (exit 2) rather than print anything else. The installed preload library
#    loads with LD_PRELOAD naming its path.
# Needs no root.
#
# Usage: install_test.sh BUILD_DIR     (MESON: the meson to run, default `meson`)
# Exit: 0 pass, 1 fail.
set -euo pipefail

# meson test points LD_LIBRARY_PATH at the build's library directories: not for an installed tree.
unset LD_LIBRARY_PATH
BUILD=$(cd "${1:?usage: install_test.sh BUILD_DIR}" && pwd)
MESON=${MESON:-meson}
T_NAME=install_layout
# shellcheck source=tests/e2e/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/common.sh"

DEST=$(mktemp -d "${TMPDIR:-/tmp}/dirigo-install.XXXXXX")
trap 'rm -rf "$DEST"' EXIT

if "$MESON" install -C "$BUILD" --destdir "$DEST" --no-rebuild >"$DEST.log" 2>&1; then
    t_pass "meson install --destdir $DEST"
    rm -f "$DEST.log"
else
    t_fail "meson install --destdir $DEST"
    sed 's/^/    /' "$DEST.log"
    rm -f "$DEST.log"
    t_summary
fi

# The install directories, absolute (meson's relative ones are under the prefix), and the version.
eval "$("$MESON" introspect --buildoptions --projectinfo "$BUILD" | python3 -c '
import json
import os
import shlex
import sys

data = json.load(sys.stdin)
opts = {o["name"]: o["value"] for o in data["buildoptions"]}
prefix = opts["prefix"]
for name in ("prefix", "bindir", "sbindir", "libdir", "mandir", "sysconfdir"):
    print(f"{name.upper()}={shlex.quote(os.path.join(prefix, opts[name]))}")
print("VERSION=" + shlex.quote(data["projectinfo"]["version"]))
')"
echo "    prefix $PREFIX, sbindir $SBINDIR, bindir $BINDIR, libdir $LIBDIR, mandir $MANDIR," \
    "sysconfdir $SYSCONFDIR, version $VERSION"

# Everything meson says it installs.
missing=$("$MESON" introspect --installed "$BUILD" | python3 -c '
import json
import os
import sys

dest = sys.argv[1]
for path in json.load(sys.stdin).values():
    if not os.path.lexists(dest + path):
        print(path)
' "$DEST")
if [[ -z $missing ]]; then
    t_pass "every file meson installs is under the destdir"
else
    t_fail "every file meson installs is under the destdir; missing: $missing"
fi
echo "    installed:"
(cd "$DEST" && find . -type f -o -type l | sort | sed 's/^\./      /')

# What a package needs, by name.
D_DIRIGO=$DEST$SBINDIR/dirigo
D_ADM=$DEST$BINDIR/dirigoadm
D_CONF=$DEST$SYSCONFDIR/dirigo/dirigo.conf
for f in "$D_DIRIGO" "$D_ADM"; do
    t_check "installed, executable: ${f#"$DEST"}" test -x "$f"
done
for f in "$LIBDIR/dirigo/libdirigo-ipvs.so" "$PREFIX/lib/systemd/system/dirigo.service" \
    "$MANDIR/man8/dirigo.8" "$MANDIR/man5/dirigo.conf.5" "$MANDIR/man8/dirigoadm.8" \
    "$SYSCONFDIR/dirigo/dirigo.conf"; do
    t_check "installed: $f" test -f "$DEST$f"
done
# The preload library is the only file in libdir, and it is not in libdir itself (ldconfig and
# lintian's shared-library checks look there).
others=$(cd "$DEST$LIBDIR" && find . -mindepth 1 ! -path ./dirigo ! -path ./dirigo/libdirigo-ipvs.so |
    sort | tr '\n' ' ')
t_expect "libdir holds only dirigo/libdirigo-ipvs.so${others:+ (also: $others)}" \
    "$([[ -z $others ]] && echo 1)"
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
t_check "the installed unit is dist/dirigo.service" \
    cmp -s "$SRC/dist/dirigo.service" "$DEST$PREFIX/lib/systemd/system/dirigo.service"
t_check "the installed config is dist/dirigo.conf" cmp -s "$SRC/dist/dirigo.conf" "$D_CONF"

# The installed binaries run: system libraries only, nothing from the build directory.
for f in "$D_DIRIGO" "$D_ADM" "$DEST$LIBDIR/dirigo/libdirigo-ipvs.so"; do
    libs=$(ldd "$f" 2>&1) || true
    if grep -q "not found" <<<"$libs"; then
        t_fail "${f#"$DEST"}: every library is found"
        grep "not found" <<<"$libs" | sed 's/^/    /'
    elif grep -qF "$BUILD" <<<"$libs"; then
        t_fail "${f#"$DEST"}: no library comes from the build directory"
    else
        t_pass "${f#"$DEST"}: every library is found, none from the build directory"
    fi
done
# LD_LIBRARY_PATH covers an install whose libdir is not on the loader's path (not needed today:
# the binaries link only system libraries and the preload library is not linked by them).
export LD_LIBRARY_PATH="$DEST$LIBDIR"
# The preload library loads by its path (the loader only warns, on stderr, when it cannot).
out=$(LD_PRELOAD="$DEST$LIBDIR/dirigo/libdirigo-ipvs.so" env true 2>&1) && rc=0 || rc=$?
t_expect "LD_PRELOAD=${LIBDIR}/dirigo/libdirigo-ipvs.so loads (exit $rc${out:+: $out})" \
    "$([[ $rc == 0 && -z $out ]] && echo 1)"
out=$("$D_DIRIGO" --version 2>&1) && rc=0 || rc=$?
t_expect "dirigo --version: \"$out\" (exit $rc)" "$([[ $rc == 0 && $out == "dirigo $VERSION" ]] && echo 1)"
out=$("$D_DIRIGO" --check -c "$D_CONF" 2>&1) && rc=0 || rc=$?
t_expect "dirigo --check accepts the installed config: $out" "$([[ $rc == 0 ]] && echo 1)"
out=$("$D_ADM" -h 2>&1) && rc=0 || rc=$?
t_expect "dirigoadm -h: \"${out%%$'\n'*}\" (exit $rc)" \
    "$([[ $rc == 0 && ${out%%$'\n'*} == "dirigoadm v$VERSION "* ]] && echo 1)"
out=$("$D_ADM" --socket "$DEST/no-daemon.sock" --version 2>&1) && rc=0 || rc=$?
t_expect "dirigoadm --version without a daemon: \"$out\" (exit $rc)" \
    "$([[ $rc == 2 && $out == "cannot connect to dirigo at $DEST/no-daemon.sock"* ]] && echo 1)"
t_summary
