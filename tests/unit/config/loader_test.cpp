// SPDX-License-Identifier: BSD-3-Clause
#include "config/loader.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include "config/addr.hpp"

namespace dirigo::cfg {
namespace {

constexpr Ip4 ip(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
    return (a << 24) | (b << 16) | (c << 8) | d;
}

// The example of docs/configuration.md, verbatim.
// Split in two raw strings only to stay within 100 columns; the text is unchanged.
constexpr std::string_view kExample =
    R"(eal = [ "-l", "0-1", "--no-pci", "--vdev=net_af_packet0,iface=ext0", )"
    R"("--vdev=net_af_packet1,iface=int0" ];
control = { socket = "/run/dirigo/dirigo.sock"; };
ports = (
  { name = "ext"; device = "net_af_packet0"; addresses = [ "10.0.0.1/24", "10.0.0.100/32" ]; },
  { name = "int"; device = "net_af_packet1"; addresses = [ "172.16.0.1/24" ]; }
);
routes = ( { prefix = "0.0.0.0/0"; via = "10.0.0.254"; } );
services = (
  { protocol = "tcp"; address = "10.0.0.100:80"; scheduler = "rr";
    servers = ( { address = "172.16.0.11:80"; forward = "nat"; weight = 1; },
                { address = "172.16.0.12:80"; forward = "nat"; weight = 1; } ); }
);
)";

// Three lines every error test starts from; its own text begins on line 4.
const std::string kBase =
    "eal = [];\n"
    "ports = ( { name = \"ext\"; device = \"d0\"; addresses = [ \"10.0.0.1/24\" ]; },\n"
    "          { name = \"int\"; device = \"d1\"; addresses = [ \"172.16.0.1/24\" ]; } );\n";

Result<Config> load(const std::string& text, const LoadOptions& opts = {}) {
    return load_string(text, "dirigo.conf", opts);
}

/// Checks that `r` failed with "dirigo.conf:LINE: PATH: ..." whose text contains `what`.
::testing::AssertionResult fails_with(const Result<Config>& r, int line, std::string_view path,
                                      std::string_view what, Errc code = Errc::Invalid) {
    if (r.is_ok()) {
        return ::testing::AssertionFailure() << "loaded, expected an error";
    }
    const Status st = r.status();  // by value: status() returns a copy
    const std::string& msg = st.message();
    const std::string head =
        "dirigo.conf:" + std::to_string(line) + ": " + std::string(path) + ": ";
    if (msg.rfind(head, 0) != 0) {
        return ::testing::AssertionFailure()
               << "message \"" << msg << "\" does not start with \"" << head << "\"";
    }
    if (msg.find(what, head.size()) == std::string::npos) {
        return ::testing::AssertionFailure()
               << "message \"" << msg << "\" lacks \"" << what << "\"";
    }
    if (st.code() != code) {
        return ::testing::AssertionFailure()
               << "code " << static_cast<int>(st.code()) << ", expected " << static_cast<int>(code);
    }
    return ::testing::AssertionSuccess();
}

std::optional<std::string> only_rr_and_wlc(std::string_view name) {
    if (name == "rr" || name == "wlc") {
        return std::nullopt;
    }
    return "unknown scheduler \"" + std::string(name) + "\"";
}

// ---- the example ----

void expect_example(const Config& c) {
    EXPECT_EQ(c.eal,
              (std::vector<std::string>{"-l", "0-1", "--no-pci", "--vdev=net_af_packet0,iface=ext0",
                                        "--vdev=net_af_packet1,iface=int0"}));
    EXPECT_EQ(c.control.socket, "/run/dirigo/dirigo.sock");
    EXPECT_EQ(c.control.mode, 0600u);
    EXPECT_EQ(c.control.group, "");

    ASSERT_EQ(c.ports.size(), 2u);
    EXPECT_EQ(c.ports[0].name, "ext");
    EXPECT_EQ(c.ports[0].device, "net_af_packet0");
    EXPECT_EQ(c.ports[0].addresses,
              (std::vector<Prefix>{{ip(10, 0, 0, 1), 24}, {ip(10, 0, 0, 100), 32}}));
    EXPECT_EQ(c.ports[0].mtu, 1500);
    EXPECT_EQ(c.ports[1].name, "int");
    EXPECT_EQ(c.ports[1].device, "net_af_packet1");
    EXPECT_EQ(c.ports[1].addresses, (std::vector<Prefix>{{ip(172, 16, 0, 1), 24}}));
    EXPECT_EQ(c.ports[1].mtu, 1500);

    ASSERT_EQ(c.routes.size(), 1u);
    EXPECT_EQ(c.routes[0].prefix, (Prefix{0, 0}));
    EXPECT_EQ(c.routes[0].via, ip(10, 0, 0, 254));

    ASSERT_EQ(c.services.size(), 1u);
    const Service& s = c.services[0];
    EXPECT_EQ(s.key, (ServiceKey{Proto::Tcp, ip(10, 0, 0, 100), 80}));
    EXPECT_EQ(s.scheduler, "rr");
    EXPECT_EQ(s.flags, 0u);
    EXPECT_EQ(s.timeout, 0u);
    EXPECT_EQ(s.netmask, 0xffffffffu);
    ASSERT_EQ(s.servers.size(), 2u);
    EXPECT_EQ(s.servers[0], (RealServer{ip(172, 16, 0, 11), 80, Fwd::Masq, 1, 0, 0}));
    EXPECT_EQ(s.servers[1], (RealServer{ip(172, 16, 0, 12), 80, Fwd::Masq, 1, 0, 0}));

    const DataplaneCfg dp;
    EXPECT_EQ(c.dataplane.conn_table_size, dp.conn_table_size);
    EXPECT_EQ(c.dataplane.mbufs, dp.mbufs);
    EXPECT_EQ(c.dataplane.rx_desc, dp.rx_desc);
    EXPECT_EQ(c.dataplane.tx_desc, dp.tx_desc);
    EXPECT_EQ(c.dataplane.neighbours, dp.neighbours);
    EXPECT_EQ(c.dataplane.arp_timeout, dp.arp_timeout);
    EXPECT_EQ(c.timeouts.tcp, 900u);
    EXPECT_EQ(c.timeouts.tcp_fin, 120u);
    EXPECT_EQ(c.timeouts.udp, 300u);
}

TEST(Loader, ExampleLoadsFieldByField) {
    const auto r = load(std::string(kExample), {only_rr_and_wlc});
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    expect_example(*r);
}

/// A scratch directory under gtest's temp dir, removed at the end of the test.
class LoaderFile : public ::testing::Test {
protected:
    void SetUp() override {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        dir_ = std::filesystem::path(::testing::TempDir()) /
               (std::string("dirigo_cfg_") + info->name() + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::string write(const std::string& name, std::string_view text) const {
        const std::string path = (dir_ / name).string();
        std::ofstream(path) << text;
        return path;
    }

    std::filesystem::path dir_;
};

TEST_F(LoaderFile, ExampleLoadsFromFile) {
    const auto r = load_file(write("dirigo.conf", kExample));
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    expect_example(*r);
}

TEST_F(LoaderFile, MissingFile) {
    const std::string path = (dir_ / "nope.conf").string();
    const auto r = load_file(path);
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), Errc::Io);
    EXPECT_EQ(r.status().message(), path + ": cannot open: No such file or directory");
}

TEST_F(LoaderFile, DirectoryIsNotAConfig) {
    const auto r = load_file(dir_.string());
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), Errc::Io);
    EXPECT_NE(r.status().message().find("is a directory"), std::string::npos);
}

TEST_F(LoaderFile, SyntaxErrorNamesFileAndLine) {
    const std::string path = write("bad.conf", "eal = [];\nports = (\n  { name = ; }\n);\n");
    const auto r = load_file(path);
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), Errc::Invalid);
    EXPECT_EQ(r.status().message(), path + ":3: syntax error");
}

TEST_F(LoaderFile, SemanticErrorNamesFileLineAndKey) {
    std::string text(kExample);
    text.replace(text.find("172.16.0.1/24"), 13, "10.0.0/24");
    const std::string path = write("dirigo.conf", text);
    const auto r = load_file(path);
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().message(), path + ":5: ports.[1].addresses.[0]: bad prefix \"10.0.0/24\"" +
                                        " (expected e.g. \"10.0.0.1/24\")");
}

TEST_F(LoaderFile, IncludeIsRelativeToTheFileAndErrorsNameTheIncludedFile) {
    write("services.conf",
          "services = (\n"
          "  { protocol = \"tcp\"; address = \"10.0.0.100:80\"; }\n"
          ");\n");
    const auto ok = load_file(write("main.conf", kBase + "@include \"services.conf\"\n"));
    ASSERT_TRUE(ok.is_ok()) << ok.status().message();
    ASSERT_EQ(ok->services.size(), 1u);
    EXPECT_EQ(ok->services[0].key.port, 80);

    const std::string inc = write("bad.conf", "services = (\n  { protocol = \"icmp\"; } );\n");
    const auto bad = load_file(write("main2.conf", kBase + "@include \"bad.conf\"\n"));
    ASSERT_FALSE(bad.is_ok());
    EXPECT_EQ(bad.status().message().rfind(inc + ":2: services.[0].protocol: ", 0), 0u)
        << bad.status().message();

    const std::string syn = write("syntax.conf", "services = (\n  { protocol = ; } );\n");
    const auto bad_syntax = load_file(write("main3.conf", kBase + "@include \"syntax.conf\"\n"));
    ASSERT_FALSE(bad_syntax.is_ok());
    EXPECT_EQ(bad_syntax.status().message(), syn + ":2: syntax error");

    // libconfig points at the @include line.
    const std::string main4 = write("main4.conf", kBase + "@include \"none.conf\"\n");
    const auto missing = load_file(main4);
    ASSERT_FALSE(missing.is_ok());
    EXPECT_EQ(missing.status().message(), main4 + ":4: syntax error: cannot open include file");
}

TEST(Loader, SyntaxErrorInString) {
    const auto r = load("eal = [];\nports = ( { name = \"x\"; } );\nroutes = ( ;\n");
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().message(), "dirigo.conf:3: syntax error");
}

TEST(Loader, MixedArrayIsASyntaxError) {
    const auto r = load(kBase + "x = [ 1, \"a\" ];\n");
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().message(),
              "dirigo.conf:4: syntax error: mismatched element type in array");
}

TEST(Loader, DuplicateKeyIsASyntaxError) {
    const auto r = load(kBase + "eal = [];\n");
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().message(), "dirigo.conf:4: syntax error: duplicate setting name");
}

TEST(Loader, MinimalConfigGetsDefaults) {
    const auto r = load(kBase);
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    EXPECT_TRUE(r->eal.empty());
    EXPECT_EQ(r->control.socket, "/run/dirigo/dirigo.sock");
    EXPECT_EQ(r->control.mode, 0600u);
    EXPECT_FALSE(r->metrics.enabled);
    EXPECT_TRUE(r->routes.empty());
    EXPECT_TRUE(r->services.empty());
    EXPECT_EQ(r->ports.size(), 2u);
}

TEST(Loader, EalAsList) {
    const auto r = load(
        "eal = ( \"-l\", \"0\" );\n"
        "ports = ( { name = \"p\"; device = \"d\"; addresses = ( \"10.0.0.1/24\" ); } );\n");
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    EXPECT_EQ(r->eal, (std::vector<std::string>{"-l", "0"}));
    EXPECT_EQ(r->ports[0].addresses, (std::vector<Prefix>{{ip(10, 0, 0, 1), 24}}));
}

// ---- control ----

TEST(Loader, ControlSection) {
    const auto r = load(kBase +
                        "control = { socket = \"/tmp/d.sock\"; mode = \"0660\"; "
                        "group = \"dirigo\"; };\n");
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    EXPECT_EQ(r->control.socket, "/tmp/d.sock");
    EXPECT_EQ(r->control.mode, 0660u);
    EXPECT_EQ(r->control.group, "dirigo");
}

TEST(Loader, ControlModeSpellings) {
    struct Case {
        std::string_view mode;
        uint32_t want;
    };
    for (const Case& c : {
             Case{"\"0660\"", 0660}, Case{"\"660\"", 0660}, Case{"\"0\"", 0},
             Case{"\"0777\"", 0777},
             Case{"0660", 0660},  // libconfig reads 660 decimal; taken as chmod digits
             Case{"0600", 0600}, Case{"440", 0440}, Case{"0", 0},
             Case{"0x1b0", 0660},  // hex is a plain value
         }) {
        const auto r = load(kBase + "control = { mode = " + std::string(c.mode) + "; };\n");
        ASSERT_TRUE(r.is_ok()) << c.mode << ": " << r.status().message();
        EXPECT_EQ(r->control.mode, c.want) << c.mode;
    }
}

// ---- metrics ----

TEST(Loader, MetricsListen) {
    const auto r = load(kBase + "metrics = { listen = \"127.0.0.1:9180\"; };\n");
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    EXPECT_TRUE(r->metrics.enabled);
    EXPECT_EQ(r->metrics.addr, ip(127, 0, 0, 1));
    EXPECT_EQ(r->metrics.port, 9180);
}

TEST(Loader, MetricsAnyAddress) {
    const auto r = load(kBase + "metrics = { listen = \"0.0.0.0:9100\"; };\n");
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    EXPECT_TRUE(r->metrics.enabled);
    EXPECT_EQ(r->metrics.addr, 0u);
    EXPECT_EQ(r->metrics.port, 9100);
}

TEST(Loader, MetricsEmptyGroupIsOff) {
    const auto r = load(kBase + "metrics = { };\n");
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    EXPECT_FALSE(r->metrics.enabled);
}

// ---- log ----

TEST(Loader, LogLevelDefaultsToInfo) {
    const auto r = load(kBase);
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    EXPECT_EQ(r->log.level, LogLevel::Info);
    const auto e = load(kBase + "log = { };\n");
    ASSERT_TRUE(e.is_ok()) << e.status().message();
    EXPECT_EQ(e->log.level, LogLevel::Info);
}

TEST(Loader, LogLevelNames) {
    struct Case {
        std::string_view name;
        LogLevel want;
    };
    for (const Case& c :
         {Case{"emerg", LogLevel::Emerg}, Case{"alert", LogLevel::Alert},
          Case{"crit", LogLevel::Crit}, Case{"err", LogLevel::Err}, Case{"error", LogLevel::Err},
          Case{"warning", LogLevel::Warning}, Case{"notice", LogLevel::Notice},
          Case{"info", LogLevel::Info}, Case{"debug", LogLevel::Debug}}) {
        const auto r = load(kBase + "log = { level = \"" + std::string(c.name) + "\"; };\n");
        ASSERT_TRUE(r.is_ok()) << c.name << ": " << r.status().message();
        EXPECT_EQ(r->log.level, c.want) << c.name;
    }
}

// ---- error table: every error path names its line and key ----

struct BadCase {
    std::string_view name;
    std::string text;  // appended to kBase unless it replaces it (full)
    int line;
    std::string_view path;
    std::string_view what;
    Errc code = Errc::Invalid;
    bool full = false;
};

class LoaderErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(LoaderErrors, NamesLineKeyAndReason) {
    const BadCase& c = GetParam();
    const auto r = load(c.full ? c.text : kBase + c.text, {only_rr_and_wlc});
    EXPECT_TRUE(fails_with(r, c.line, c.path, c.what, c.code));
}

std::string svc(std::string_view fields) {
    return "services = ( { protocol = \"tcp\"; address = \"10.0.0.100:80\"; " +
           std::string(fields) + " } );\n";
}

std::string server(std::string_view fields) {
    return svc("servers = ( { " + std::string(fields) + " } );");
}

const BadCase kBadCases[] = {
    // top level
    {"MissingEal", "ports = ( { name = \"a\"; device = \"d\"; addresses = [ \"1.1.1.1\" ]; } );\n",
     1, "eal", "required key is missing", Errc::Invalid, true},
    {"MissingPorts", "eal = [];\n", 1, "ports", "required key is missing", Errc::Invalid, true},
    {"EmptyFile", "", 1, "eal", "required key is missing", Errc::Invalid, true},
    {"UnknownTopKey", "servics = ();\n", 4, "servics", "did you mean \"services\"?"},
    {"UnknownTopKeyListsAllowed", "zzz = 1;\n", 4, "zzz", "allowed here: eal, control, metrics, ports"},
    {"EalNotArray", "eal = \"-l 0\";\nports = ();\n", 1, "eal",
     "expected an array of strings, got a string", Errc::Invalid, true},
    {"EalNotStrings", "eal = [ 1, 2 ];\nports = ();\n", 1, "eal.[0]",
     "expected a string, got an integer", Errc::Invalid, true},
    // control
    {"ControlNotGroup", "control = \"x\";\n", 4, "control", "expected a group"},
    {"ControlUnknownKey", "control = {\n sockett = \"/x\"; };\n", 5, "control.sockett",
     "did you mean \"socket\"?"},
    {"ControlSocketEmpty", "control = { socket = \"\"; };\n", 4, "control.socket",
     "must not be empty"},
    {"ControlSocketTooLong", "control = { socket = \"/" + std::string(120, 'x') + "\"; };\n", 4,
     "control.socket", "longer than 107 bytes"},
    {"ControlModeTooBig", "control = { mode = \"1777\"; };\n", 4, "control.mode",
     "mode 01777 is out of range (at most 0777)"},
    {"ControlModeNotOctalString", "control = { mode = \"0689\"; };\n", 4, "control.mode",
     "bad mode \"0689\""},
    {"ControlModeEmptyString", "control = { mode = \"\"; };\n", 4, "control.mode", "bad mode \"\""},
    {"ControlModeNotOctalInt", "control = { mode = 384; };\n", 4, "control.mode",
     "mode 384 is not octal"},
    {"ControlModeNegative", "control = { mode = -1; };\n", 4, "control.mode", "negative"},
    {"ControlModeHexTooBig", "control = { mode = 0x200; };\n", 4, "control.mode",
     "mode 01000 is out of range"},
    {"ControlModeBool", "control = { mode = true; };\n", 4, "control.mode", "got a boolean"},
    {"ControlGroupNotString", "control = { group = 5; };\n", 4, "control.group",
     "expected a string, got an integer"},
    // metrics
    {"MetricsNotGroup", "metrics = \"127.0.0.1:9180\";\n", 4, "metrics", "expected a group"},
    {"MetricsUnknownKey", "metrics = {\n listn = \"127.0.0.1:9180\"; };\n", 5, "metrics.listn",
     "did you mean \"listen\"?"},
    {"MetricsListenEmpty", "metrics = { listen = \"\"; };\n", 4, "metrics.listen",
     "must not be empty"},
    {"MetricsListenNotString", "metrics = { listen = 9180; };\n", 4, "metrics.listen",
     "expected a string, got an integer"},
    {"MetricsListenNoPort", "metrics = { listen = \"127.0.0.1\"; };\n", 4, "metrics.listen",
     "bad listen address \"127.0.0.1\" (expected IPv4 address and port"},
    {"MetricsListenPortZero", "metrics = { listen = \"127.0.0.1:0\"; };\n", 4, "metrics.listen",
     "bad listen address \"127.0.0.1:0\""},
    {"MetricsListenPortTooBig", "metrics = { listen = \"127.0.0.1:65536\"; };\n", 4,
     "metrics.listen", "bad listen address"},
    {"MetricsListenHostName", "metrics = { listen = \"localhost:9180\"; };\n", 4,
     "metrics.listen", "bad listen address \"localhost:9180\""},
    // log
    {"LogNotGroup", "log = \"info\";\n", 4, "log", "expected a group"},
    {"LogUnknownKey", "log = {\n levl = \"info\"; };\n", 5, "log.levl", "did you mean \"level\"?"},
    {"LogLevelUnknown", "log = { level = \"verbose\"; };\n", 4, "log.level",
     "unknown log level \"verbose\" (expected \"emerg\""},
    {"LogLevelNotString", "log = { level = 7; };\n", 4, "log.level",
     "expected a string, got an integer"},
    // ports
    {"PortsEmpty", "eal = [];\nports = ();\n", 2, "ports", "at least one port is required",
     Errc::Invalid, true},
    {"PortsNotList", "eal = [];\nports = { name = \"a\"; };\n", 2, "ports",
     "expected a list of groups", Errc::Invalid, true},
    {"PortNotGroup", "eal = [];\nports = ( \"ext\" );\n", 2, "ports.[0]",
     "expected a group { ... }, got a string", Errc::Invalid, true},
    {"PortUnknownKey",
     "eal = [];\nports = (\n { name = \"a\"; device = \"d\"; adresses = [ \"1.1.1.1\" ]; } );\n", 3,
     "ports.[0].adresses", "did you mean \"addresses\"?", Errc::Invalid, true},
    {"PortMissingName",
     "eal = [];\nports = (\n { device = \"d\"; addresses = [ \"1.1.1.1\" ]; } );\n", 3,
     "ports.[0].name", "required key is missing", Errc::Invalid, true},
    {"PortMissingDevice",
     "eal = [];\nports = (\n { name = \"a\"; addresses = [ \"1.1.1.1\" ]; } );\n", 3,
     "ports.[0].device", "required key is missing", Errc::Invalid, true},
    {"PortMissingAddresses", "eal = [];\nports = (\n { name = \"a\"; device = \"d\"; } );\n", 3,
     "ports.[0].addresses", "required key is missing", Errc::Invalid, true},
    {"PortNameEmpty",
     "eal = [];\nports = ( { name = \"\"; device = \"d\"; addresses = [ \"1.1.1.1\" ]; } );\n", 2,
     "ports.[0].name", "must not be empty", Errc::Invalid, true},
    {"PortNameBadChars",
     "eal = [];\nports = ( { name = \"a b\"; device = \"d\"; addresses = [ \"1.1.1.1\" ]; } );\n",
     2, "ports.[0].name", "may only contain", Errc::Invalid, true},
    {"PortNameTooLong",
     "eal = [];\nports = ( { name = \"" + std::string(32, 'n') +
         "\"; device = \"d\"; addresses = [ \"1.1.1.1\" ]; } );\n",
     2, "ports.[0].name", "longer than 31", Errc::Invalid, true},
    {"PortDeviceTooLong",
     "eal = [];\nports = ( { name = \"a\"; device = \"" + std::string(64, 'd') +
         "\"; addresses = [ \"1.1.1.1\" ]; } );\n",
     2, "ports.[0].device", "longer than 63", Errc::Invalid, true},
    {"DuplicatePortName",
     "eal = [];\nports = ( { name = \"a\"; device = \"d0\"; addresses = [ \"1.1.1.1\" ]; },\n"
     "  { name = \"a\"; device = \"d1\"; addresses = [ \"2.2.2.2\" ]; } );\n",
     3, "ports.[1].name", "duplicate port name \"a\" (first used at line 2)", Errc::Invalid, true},
    {"DuplicateDevice",
     "eal = [];\nports = ( { name = \"a\"; device = \"d0\"; addresses = [ \"1.1.1.1\" ]; },\n"
     "  { name = \"b\"; device = \"d0\"; addresses = [ \"2.2.2.2\" ]; } );\n",
     3, "ports.[1].device", "device \"d0\" is already used by another port (line 2)", Errc::Invalid,
     true},
    {"DuplicateAddressAcrossPorts",
     "eal = [];\nports = ( { name = \"a\"; device = \"d0\"; addresses = [ \"1.1.1.1/24\" ]; },\n"
     "  { name = \"b\"; device = \"d1\"; addresses = [ \"1.1.1.1/32\" ]; } );\n",
     3, "ports.[1].addresses.[0]", "address 1.1.1.1 is already assigned (line 2)", Errc::Invalid,
     true},
    {"DuplicateAddressInPort",
     "eal = [];\nports = ( { name = \"a\"; device = \"d0\"; addresses = [ \"1.1.1.1\", "
     "\"1.1.1.1/8\" ]; } );\n",
     2, "ports.[0].addresses.[1]", "already assigned", Errc::Invalid, true},
    {"BadPrefix",
     "eal = [];\nports = ( { name = \"a\"; device = \"d0\"; addresses = [ \"1.1.1.1\" ]; },\n"
     "  { name = \"b\"; device = \"d1\"; addresses = [ \"10.0.0/24\" ]; } );\n",
     3, "ports.[1].addresses.[0]", "bad prefix \"10.0.0/24\"", Errc::Invalid, true},
    {"PrefixTooLong",
     "eal = [];\nports = ( { name = \"a\"; device = \"d\"; addresses = [ \"1.1.1.1/33\" ]; } );\n",
     2, "ports.[0].addresses.[0]", "bad prefix \"1.1.1.1/33\"", Errc::Invalid, true},
    {"ZeroAddress",
     "eal = [];\nports = ( { name = \"a\"; device = \"d\"; addresses = [ \"0.0.0.0/0\" ]; } );\n",
     2, "ports.[0].addresses.[0]", "0.0.0.0 cannot be a port address", Errc::Invalid, true},
    {"AddressesEmpty",
     "eal = [];\nports = ( { name = \"a\"; device = \"d\"; addresses = []; } );\n", 2,
     "ports.[0].addresses", "at least one address is required", Errc::Invalid, true},
    {"AddressesNotStrings",
     "eal = [];\nports = ( { name = \"a\"; device = \"d\"; addresses = [ 1 ]; } );\n", 2,
     "ports.[0].addresses.[0]", "expected a string, got an integer", Errc::Invalid, true},
    {"MtuTooSmall",
     "eal = [];\nports = ( { name = \"a\"; device = \"d\"; addresses = [ \"1.1.1.1\" ];\n"
     "  mtu = 67; } );\n",
     3, "ports.[0].mtu", "67 is out of range 68..9702", Errc::Invalid, true},
    {"MtuTooBig",
     "eal = [];\nports = ( { name = \"a\"; device = \"d\"; addresses = [ \"1.1.1.1\" ]; "
     "mtu = 9703; } );\n",
     2, "ports.[0].mtu", "9703 is out of range 68..9702", Errc::Invalid, true},
    {"MtuString",
     "eal = [];\nports = ( { name = \"a\"; device = \"d\"; addresses = [ \"1.1.1.1\" ]; "
     "mtu = \"1500\"; } );\n",
     2, "ports.[0].mtu", "expected an integer, got a string", Errc::Invalid, true},
    {"MtuFloat",
     "eal = [];\nports = ( { name = \"a\"; device = \"d\"; addresses = [ \"1.1.1.1\" ]; "
     "mtu = 1500.0; } );\n",
     2, "ports.[0].mtu", "expected an integer, got a float", Errc::Invalid, true},
    // routes
    {"RoutesNotList", "routes = { prefix = \"0.0.0.0/0\"; };\n", 4, "routes",
     "expected a list of groups"},
    {"RouteViaOutsideSubnets",
     "routes = (\n { prefix = \"0.0.0.0/0\"; via = \"192.168.1.1\"; } );\n", 5, "routes.[0].via",
     "gateway 192.168.1.1 is not on a connected subnet (connected: 10.0.0.0/24, 172.16.0.0/24)"},
    {"RouteViaOwnAddress", "routes = ( { prefix = \"0.0.0.0/0\"; via = \"10.0.0.1\"; } );\n", 4,
     "routes.[0].via", "gateway 10.0.0.1 is an address of port \"ext\""},
    {"RouteViaBroadcast", "routes = ( { prefix = \"0.0.0.0/0\"; via = \"10.0.0.255\"; } );\n", 4,
     "routes.[0].via", "network or broadcast address of 10.0.0.0/24"},
    {"RouteViaNetwork", "routes = ( { prefix = \"0.0.0.0/0\"; via = \"172.16.0.0\"; } );\n", 4,
     "routes.[0].via", "network or broadcast address of 172.16.0.0/24"},
    {"RouteViaBadAddress", "routes = ( { prefix = \"0.0.0.0/0\"; via = \"10.0.0\"; } );\n", 4,
     "routes.[0].via", "bad address \"10.0.0\""},
    {"RouteMissingVia", "routes = ( { prefix = \"0.0.0.0/0\"; } );\n", 4, "routes.[0].via",
     "required key is missing"},
    {"RouteMissingPrefix", "routes = ( { via = \"10.0.0.254\"; } );\n", 4, "routes.[0].prefix",
     "required key is missing"},
    {"RouteBadPrefix", "routes = ( { prefix = \"10.1/16\"; via = \"10.0.0.254\"; } );\n", 4,
     "routes.[0].prefix", "bad prefix \"10.1/16\""},
    {"RouteHostBits", "routes = ( { prefix = \"10.1.2.3/16\"; via = \"10.0.0.254\"; } );\n", 4,
     "routes.[0].prefix", "host bits are set in \"10.1.2.3/16\" (did you mean \"10.1.0.0/16\"?)"},
    {"RouteDuplicate",
     "routes = ( { prefix = \"10.9.0.0/16\"; via = \"10.0.0.254\"; },\n"
     "           { prefix = \"10.9.0.0/16\"; via = \"172.16.0.254\"; } );\n",
     5, "routes.[1].prefix", "duplicate route 10.9.0.0/16 (first at line 4)"},
    {"RouteUnknownKey", "routes = ( { prefix = \"0.0.0.0/0\"; gw = \"10.0.0.254\"; } );\n", 4,
     "routes.[0].gw", "unknown key"},
    // services
    {"ServicesNotList", "services = 1;\n", 4, "services", "expected a list of groups"},
    {"ServiceUnknownKey", svc("schedular = \"rr\";"), 4, "services.[0].schedular",
     "did you mean \"scheduler\"?"},
    {"ServiceMissingProtocol", "services = ( { address = \"10.0.0.100:80\"; } );\n", 4,
     "services.[0].protocol", "required key is missing"},
    {"ServiceBadProtocol", "services = ( { protocol = \"icmp\"; address = \"1.2.3.4:80\"; } );\n",
     4, "services.[0].protocol",
     "unknown protocol \"icmp\" (expected \"tcp\", \"udp\" or \"sctp\")"},
    {"ServiceMissingAddress", "services = ( { protocol = \"udp\"; } );\n", 4,
     "services.[0].address", "required key is missing"},
    {"ServiceMissingPort", "services = ( { protocol = \"tcp\"; address = \"10.0.0.100\"; } );\n", 4,
     "services.[0].address", "missing port in \"10.0.0.100\""},
    {"ServicePortZero", "services = ( { protocol = \"tcp\"; address = \"10.0.0.100:0\"; } );\n", 4,
     "services.[0].address", "bad address \"10.0.0.100:0\""},
    {"ServiceBadAddress", "services = ( { protocol = \"tcp\"; address = \"10.0.0:80\"; } );\n", 4,
     "services.[0].address", "bad address \"10.0.0:80\" (expected ip:port)"},
    {"ServiceZeroAddress", "services = ( { protocol = \"tcp\"; address = \"0.0.0.0:80\"; } );\n", 4,
     "services.[0].address", "must not be 0.0.0.0"},
    {"ServiceUnknownScheduler", svc("scheduler = \"rrr\";"), 4, "services.[0].scheduler",
     "unknown scheduler \"rrr\"", Errc::NoScheduler},
    {"ServiceEmptyScheduler", svc("scheduler = \"\";"), 4, "services.[0].scheduler",
     "must not be empty"},
    {"ServicePersistentZero", svc("persistent = 0;"), 4, "services.[0].persistent",
     "0 is out of range 1..31536000"},
    {"ServicePersistentBool", svc("persistent = true;"), 4, "services.[0].persistent",
     "expected an integer, got a boolean"},
    {"ServiceNetmaskNotContiguous", svc("netmask = \"255.0.255.0\";"), 4, "services.[0].netmask",
     "bad netmask \"255.0.255.0\""},
    {"ServiceNetmaskGarbage", svc("netmask = \"24\";"), 4, "services.[0].netmask",
     "bad netmask \"24\""},
    {"ServiceUnknownFlag", svc("flags = [ \"sh-fallback\", \"fast\" ];"), 4,
     "services.[0].flags.[1]", "unknown flag \"fast\""},
    {"ServiceFlagsNotArray", svc("flags = \"ops\";"), 4, "services.[0].flags",
     "expected an array of strings"},
    {"ServiceDuplicate",
     "services = ( { protocol = \"tcp\"; address = \"10.0.0.100:80\"; scheduler = \"rr\"; },\n"
     "  { protocol = \"tcp\"; address = \"10.0.0.100:80\"; scheduler = \"rr\"; } );\n",
     5, "services.[1]", "duplicate service TCP 10.0.0.100:80 (first at line 4)",
     Errc::ServiceExists},
    {"ServersNotList", svc("scheduler = \"rr\"; servers = 1;"), 4, "services.[0].servers",
     "expected a list of groups"},
    {"ServerUnknownKey", server("address = \"172.16.0.11\"; wieght = 2;"), 4,
     "services.[0].servers.[0].wieght", "did you mean \"weight\"?"},
    {"ServerMissingAddress", server("weight = 2;"), 4, "services.[0].servers.[0].address",
     "required key is missing"},
    {"ServerBadAddress", server("address = \"172.16.0.300:80\";"), 4,
     "services.[0].servers.[0].address", "bad address \"172.16.0.300:80\""},
    {"ServerBadBareAddress", server("address = \"172.16.0\";"), 4,
     "services.[0].servers.[0].address", "bad address \"172.16.0\""},
    {"ServerZeroAddress", server("address = \"0.0.0.0:80\";"), 4, "services.[0].servers.[0]",
     "address must not be 0.0.0.0"},
    {"ServerBadForward", server("address = \"172.16.0.11\"; forward = \"fullnat\";"), 4,
     "services.[0].servers.[0].forward", "unknown forwarding method \"fullnat\""},
    {"ServerWeightTooBig", server("address = \"172.16.0.11\"; weight = 65536;"), 4,
     "services.[0].servers.[0].weight", "65536 is out of range 0..65535"},
    {"ServerWeightNegative", server("address = \"172.16.0.11\"; weight = -1;"), 4,
     "services.[0].servers.[0].weight", "-1 is out of range 0..65535"},
    {"ServerUThresholdNegative", server("address = \"172.16.0.11\"; u_threshold = -1;"), 4,
     "services.[0].servers.[0].u_threshold", "-1 is out of range 0..4294967295"},
    {"ServerLThresholdNegative", server("address = \"172.16.0.11\"; l_threshold = -5;"), 4,
     "services.[0].servers.[0].l_threshold", "-5 is out of range"},
    {"ServerDrPortMapping", server("address = \"172.16.0.11:8080\"; forward = \"dr\";"), 4,
     "services.[0].servers.[0]",
     "real server 172.16.0.11:8080: port mapping is only supported with masquerading (-m)"},
    {"ServerTunPortMapping", server("address = \"172.16.0.11:8080\"; forward = \"ipip\";"), 4,
     "services.[0].servers.[0]", "Tunnel servers must use the service port 80"},
    {"ServerBadTunType", server("address = \"172.16.0.11\"; forward = \"tun\"; tun_type = \"vxlan\";"),
     4, "services.[0].servers.[0].tun_type", "unknown tunnel type \"vxlan\" (expected ipip, gue or gre)"},
    {"ServerBadTunCsum", server("address = \"172.16.0.11\"; forward = \"tun\"; tun_type = \"gre\";"
                                " tun_csum = \"yes\";"),
     4, "services.[0].servers.[0].tun_csum", "unknown tunnel checksum option \"yes\""},
    {"ServerTunPortRange", server("address = \"172.16.0.11\"; forward = \"tun\"; tun_type = \"gue\";"
                                  " tun_port = 65536;"),
     4, "services.[0].servers.[0].tun_port", "65536 is out of range 1..65535"},
    {"ServerGueNeedsPort", server("address = \"172.16.0.11\"; forward = \"tun\"; tun_type = \"gue\";"),
     4, "services.[0].servers.[0]", "a gue tunnel needs a tunnel port"},
    {"ServerGrePort", server("address = \"172.16.0.11\"; forward = \"tun\"; tun_type = \"gre\";"
                             " tun_port = 6080;"),
     4, "services.[0].servers.[0]", "a gre tunnel takes no tunnel port"},
    {"ServerGreRemCsum", server("address = \"172.16.0.11\"; forward = \"tun\"; tun_type = \"gre\";"
                                " tun_csum = \"remcsum\";"),
     4, "services.[0].servers.[0]", "remote checksum offload is a gue option, not gre"},
    {"ServerIpipOptions", server("address = \"172.16.0.11\"; forward = \"tun\"; tun_csum = \"csum\";"),
     4, "services.[0].servers.[0]", "an ipip tunnel takes no port or checksum option"},
    {"ServerTunOptionsWithoutTun", server("address = \"172.16.0.11\"; forward = \"nat\";"
                                          " tun_type = \"gre\";"),
     4, "services.[0].servers.[0]", "tunnel options need the tunnelling method (-i)"},
    {"ServerDuplicate",
     "services = ( { protocol = \"tcp\"; address = \"10.0.0.100:80\"; scheduler = \"rr\";\n"
     "  servers = ( { address = \"172.16.0.11\"; },\n"
     "              { address = \"172.16.0.11:80\"; } ); } );\n",
     6, "services.[0].servers.[1]", "duplicate real server 172.16.0.11:80 (first at line 5)",
     Errc::DestExists},
    // dataplane
    {"DataplaneNotGroup", "dataplane = ();\n", 4, "dataplane", "expected a group"},
    {"DataplaneUnknownKey", "dataplane = { neighbors = 64; };\n", 4, "dataplane.neighbors",
     "did you mean \"neighbours\"?"},
    {"ConnTableTooSmall", "dataplane = { conn_table_size = 1023; };\n", 4,
     "dataplane.conn_table_size", "1023 is out of range 1024..134217728"},
    {"ConnTableTooBig", "dataplane = { conn_table_size = 134217729; };\n", 4,
     "dataplane.conn_table_size", "out of range"},
    {"MbufsTooSmall", "dataplane = { mbufs = 1022; };\n", 4, "dataplane.mbufs",
     "1022 is out of range 1023..16777216"},
    {"MbufsTooBig", "dataplane = { mbufs = 16777217; };\n", 4, "dataplane.mbufs", "out of range"},
    {"MbufSizeTooSmall", "dataplane = { mbuf_size = 2175; };\n", 4, "dataplane.mbuf_size",
     "2175 is out of range 2176..65535"},
    {"MbufSizeTooBig", "dataplane = { mbuf_size = 65536; };\n", 4, "dataplane.mbuf_size",
     "out of range"},
    {"RxDescTooSmall", "dataplane = { rx_desc = 63; };\n", 4, "dataplane.rx_desc",
     "63 is out of range 64..4096"},
    {"TxDescTooBig", "dataplane = { tx_desc = 4097; };\n", 4, "dataplane.tx_desc",
     "4097 is out of range 64..4096"},
    {"NeighboursTooSmall", "dataplane = { neighbours = 15; };\n", 4, "dataplane.neighbours",
     "15 is out of range 16..1048576"},
    {"NeighboursTooBig", "dataplane = { neighbours = 1048577; };\n", 4, "dataplane.neighbours",
     "out of range"},
    {"ArpTimeoutZero", "dataplane = { arp_timeout = 0; };\n", 4, "dataplane.arp_timeout",
     "0 is out of range 1..86400"},
    {"ArpTimeoutTooBig", "dataplane = { arp_timeout = 86401; };\n", 4, "dataplane.arp_timeout",
     "out of range"},
    {"DataplaneFloat", "dataplane = { mbufs = 1e4; };\n", 4, "dataplane.mbufs",
     "expected an integer, got a float"},
    {"PollUnknown", "dataplane = { poll = \"interrupt\"; };\n", 4, "dataplane.poll",
     "unknown poll mode \"interrupt\" (expected \"busy\" or \"adaptive\")"},
    {"PollNotString", "dataplane = { poll = 1; };\n", 4, "dataplane.poll",
     "expected a string, got an integer"},
    {"PollTypo", "dataplane = { pol = \"busy\"; };\n", 4, "dataplane.pol",
     "did you mean \"poll\"?"},
    {"IdlePollsZero", "dataplane = { idle_polls = 0; };\n", 4, "dataplane.idle_polls",
     "0 is out of range 1..100000000"},
    {"IdlePollsTooBig", "dataplane = { idle_polls = 100000001; };\n", 4, "dataplane.idle_polls",
     "out of range"},
    {"MaxSleepZero", "dataplane = { max_sleep_us = 0; };\n", 4, "dataplane.max_sleep_us",
     "0 is out of range 1..100000"},
    {"MaxSleepTooBig", "dataplane = { max_sleep_us = 100001; };\n", 4,
     "dataplane.max_sleep_us", "out of range"},
    {"MaxSleepString", "dataplane = { max_sleep_us = \"1ms\"; };\n", 4,
     "dataplane.max_sleep_us", "expected an integer, got a string"},
    {"ReassemblyTooBig", "dataplane = { reassembly = 16385; };\n", 4, "dataplane.reassembly",
     "16385 is out of range 0..16384"},
    {"ReassemblyMoreThanTheMbufs", "dataplane = { mbufs = 4095; reassembly = 512; };\n", 4,
     "dataplane.reassembly",
     "reassembly 512 may hold 4096 mbufs, more than half of dataplane.mbufs (4095)"},
    {"FragTimeoutZero", "dataplane = { frag_timeout = 0; };\n", 4, "dataplane.frag_timeout",
     "0 is out of range 1..300"},
    // defense
    {"DefenseNotGroup", "defense = 1;\n", 4, "defense", "expected a group"},
    {"DefenseModeTooBig", "defense = { drop_entry = 4; };\n", 4, "defense.drop_entry",
     "4 is out of range 0..3"},
    {"DefenseTypo", "defense = { drop_packets = 1; };\n", 4, "defense.drop_packets",
     "did you mean \"drop_packet\"?"},
    {"SynProxyModeTooBig", "defense = { syn_proxy = 4; };\n", 4, "defense.syn_proxy",
     "4 is out of range 0..3"},
    {"SynProxyAutomaticThresholdAboveTable",
     "dataplane = { conn_table_size = 1024; };\n"
     "defense = { syn_proxy = 1; amemthresh = 2048; };\n",
     5, "defense.amemthresh", "must be below dataplane.conn_table_size (1024)"},
    {"DefenseRateZero", "defense = { am_droprate = 0; };\n", 4, "defense.am_droprate",
     "out of range"},
    {"DefenseThresholdAboveTable",
     "dataplane = { conn_table_size = 1024; };\n"
     "defense = { secure_tcp = 1; amemthresh = 1024; };\n",
     5, "defense.amemthresh", "must be below dataplane.conn_table_size (1024)"},
    // host
    {"HostNotGroup", "host = 5;\n", 4, "host", "expected a group"},
    {"HostUnknownKey", "host = { rates = 10; };\n", 4, "host.rates", "did you mean \"rate\"?"},
    {"HostQueueNotPowerOfTwo", "host = { queue = 1000; };\n", 4, "host.queue",
     "must be a power of two"},
    {"HostQueueTooSmall", "host = { queue = 32; };\n", 4, "host.queue", "out of range"},
    {"HostRateZero", "host = { rate = 0; };\n", 4, "host.rate", "0 is out of range 1..10000000"},
    {"HostKernelInterfacesNotBool", "host = { kernel_interfaces = 1; };\n", 4,
     "host.kernel_interfaces", "true or false"},
    {"KernelNameTooLong",
     "eal = [];\nports = ( { name = \"outside-facing-port\"; device = \"d0\";\n"
     "  addresses = [ \"10.0.0.1/24\" ]; } );\n",
     2, "ports.[0]",
     "kernel interface name \"outside-facing-port\" is longer than 15 characters (set "
     "kernel_name, or host.kernel_interfaces = false)",
     Errc::Invalid, true},
    {"KernelNameTaken",
     "eal = [];\nports = ( { name = \"ext\"; device = \"d0\"; addresses = [ \"10.0.0.1/24\" ]; },\n"
     "  { name = \"int\"; device = \"d1\"; addresses = [ \"172.16.0.1/24\" ];\n"
     "    kernel_name = \"ext\"; } );\n",
     3, "ports.[1]", "port \"ext\" already has the kernel interface \"ext\"", Errc::Invalid,
     true},
    // VLAN sub-interfaces
    {"VlanIdZero",
     "eal = [];\nports = ( { name = \"ext\"; device = \"d0\"; addresses = [ \"10.0.0.1/24\" ];\n"
     "  vlans = ( { id = 0; addresses = ( \"10.1.0.1/24\" ); } ); } );\n",
     3, "ports.[0].vlans.[0].id", "0 is out of range 1..4094", Errc::Invalid, true},
    {"VlanIdReserved",
     "eal = [];\nports = ( { name = \"ext\"; device = \"d0\"; addresses = [ \"10.0.0.1/24\" ];\n"
     "  vlans = ( { id = 4095; addresses = ( \"10.1.0.1/24\" ); } ); } );\n",
     3, "ports.[0].vlans.[0].id", "4095 is out of range 1..4094", Errc::Invalid, true},
    {"VlanIdNotInteger",
     "eal = [];\nports = ( { name = \"ext\"; device = \"d0\"; addresses = [ \"10.0.0.1/24\" ];\n"
     "  vlans = ( { id = \"100\"; addresses = ( \"10.1.0.1/24\" ); } ); } );\n",
     3, "ports.[0].vlans.[0].id", "expected an integer", Errc::Invalid, true},
    {"VlanDuplicateId",
     "eal = [];\nports = ( { name = \"ext\"; device = \"d0\"; addresses = [ \"10.0.0.1/24\" ];\n"
     "  vlans = ( { id = 100; addresses = ( \"10.1.0.1/24\" ); },\n"
     "            { id = 100; addresses = ( \"10.2.0.1/24\" ); } ); } );\n",
     4, "ports.[0].vlans.[1].id", "duplicate VLAN 100 on port \"ext\" (first at line 3)",
     Errc::Invalid, true},
    {"VlanMissingId",
     "eal = [];\nports = ( { name = \"ext\"; device = \"d0\"; addresses = [ \"10.0.0.1/24\" ];\n"
     "  vlans = ( { addresses = ( \"10.1.0.1/24\" ); } ); } );\n",
     3, "ports.[0].vlans.[0].id", "required key is missing", Errc::Invalid, true},
    {"VlanMissingAddresses",
     "eal = [];\nports = ( { name = \"ext\"; device = \"d0\"; addresses = [ \"10.0.0.1/24\" ];\n"
     "  vlans = ( { id = 7; } ); } );\n",
     3, "ports.[0].vlans.[0].addresses", "required key is missing", Errc::Invalid, true},
    {"VlanNoAddress",
     "eal = [];\nports = ( { name = \"ext\"; device = \"d0\"; addresses = [ \"10.0.0.1/24\" ];\n"
     "  vlans = ( { id = 7; addresses = [ ]; } ); } );\n",
     3, "ports.[0].vlans.[0].addresses", "at least one address is required", Errc::Invalid,
     true},
    {"VlanAddressTaken",
     "eal = [];\nports = ( { name = \"ext\"; device = \"d0\"; addresses = [ \"10.0.0.1/24\" ];\n"
     "  vlans = ( { id = 7; addresses = ( \"10.0.0.1/24\" ); } ); } );\n",
     3, "ports.[0].vlans.[0].addresses.[0]", "address 10.0.0.1 is already assigned (line 2)",
     Errc::Invalid, true},
    {"VlanBadPrefix",
     "eal = [];\nports = ( { name = \"ext\"; device = \"d0\"; addresses = [ \"10.0.0.1/24\" ];\n"
     "  vlans = ( { id = 7; addresses = ( \"10.1.0.1/33\" ); } ); } );\n",
     3, "ports.[0].vlans.[0].addresses.[0]", "bad prefix \"10.1.0.1/33\"", Errc::Invalid, true},
    {"VlanUnknownKey",
     "eal = [];\nports = ( { name = \"ext\"; device = \"d0\"; addresses = [ \"10.0.0.1/24\" ];\n"
     "  vlans = ( { vid = 7; addresses = ( \"10.1.0.1/24\" ); } ); } );\n",
     3, "ports.[0].vlans.[0].vid", "unknown key; did you mean \"id\"?", Errc::Invalid, true},
    {"VlansNotList",
     "eal = [];\nports = ( { name = \"ext\"; device = \"d0\"; addresses = [ \"10.0.0.1/24\" ];\n"
     "  vlans = 100; } );\n",
     3, "ports.[0].vlans", "expected a list of groups", Errc::Invalid, true},
    {"PortWithoutVlansNeedsAddresses",
     "eal = [];\nports = ( { name = \"ext\"; device = \"d0\"; } );\n", 2,
     "ports.[0].addresses", "required key is missing", Errc::Invalid, true},
    {"VlanGatewayIsOurAddress",
     "eal = [];\nports = ( { name = \"ext\"; device = \"d0\"; addresses = [ \"10.0.0.1/24\" ];\n"
     "  vlans = ( { id = 7; addresses = ( \"10.1.0.1/24\" ); } ); } );\n"
     "routes = ( { prefix = \"0.0.0.0/0\"; via = \"10.1.0.1\"; } );\n",
     4, "routes.[0].via",
     "gateway 10.1.0.1 is an address of VLAN interface \"ext.7\", not a neighbour", Errc::Invalid,
     true},
    {"VlanKernelNameTooLong",
     "eal = [];\nports = ( { name = \"outside-port\"; device = \"d0\";\n"
     "  addresses = [ \"10.0.0.1/24\" ]; vlans = ( { id = 1000; addresses = ( \"10.1.0.1/24\" ); } ); } );\n",
     2, "ports.[0]",
     "kernel interface name \"outside-port.1000\" of VLAN 1000 is longer than 15 characters",
     Errc::Invalid, true},
    {"VlanKernelNameTaken",
     "eal = [];\nports = ( { name = \"ext\"; device = \"d0\"; addresses = [ \"10.0.0.1/24\" ];\n"
     "  vlans = ( { id = 7; addresses = ( \"10.1.0.1/24\" ); } ); },\n"
     "  { name = \"int\"; device = \"d1\"; addresses = [ \"172.16.0.1/24\" ];\n"
     "    kernel_name = \"ext.7\"; } );\n",
     4, "ports.[1]", "VLAN interface \"ext.7\" already has the kernel interface \"ext.7\"",
     Errc::Invalid, true},
    {"KernelNameBadCharacter",
     "eal = [];\nports = ( { name = \"ext\"; device = \"d0\"; addresses = [ \"10.0.0.1/24\" ];\n"
     "  kernel_name = \"e/x\"; } );\n",
     3, "ports.[0].kernel_name", "may only contain", Errc::Invalid, true},
    // timeouts
    {"TimeoutsNotGroup", "timeouts = 5;\n", 4, "timeouts", "expected a group"},
    {"TimeoutsUnknownKey", "timeouts = { tcpfin = 10; };\n", 4, "timeouts.tcpfin",
     "did you mean \"tcp_fin\"?"},
    {"TimeoutTcpZero", "timeouts = { tcp = 0; };\n", 4, "timeouts.tcp",
     "0 is out of range 1..2678400"},
    {"TimeoutTcpFinTooBig", "timeouts = { tcp_fin = 31536001; };\n", 4, "timeouts.tcp_fin",
     "out of range"},
    // Past ipvsadm's 31 days: refused, never wrapped (conntrack/expiry.hpp).
    {"TimeoutTcpPast31Days", "timeouts = { tcp = 2678401; };\n", 4, "timeouts.tcp",
     "2678401 is out of range 1..2678400"},
    {"TimeoutUdpNegative", "timeouts = { udp = -1; };\n", 4, "timeouts.udp", "out of range"},
};

INSTANTIATE_TEST_SUITE_P(All, LoaderErrors, ::testing::ValuesIn(kBadCases),
                         [](const auto& info) { return std::string(info.param.name); });

// ---- accepted values ----

TEST(Loader, RangeLimitsAreInclusive) {
    const auto lo = load(kBase +
                         "dataplane = { conn_table_size = 1024; mbufs = 1023; rx_desc = 64;\n"
                         "  tx_desc = 64; neighbours = 16; arp_timeout = 1; mbuf_size = 2176; };\n"
                         "timeouts = { tcp = 1; tcp_fin = 1; udp = 1; };\n");
    ASSERT_TRUE(lo.is_ok()) << lo.status().message();
    EXPECT_EQ(lo->dataplane.conn_table_size, 1024u);
    EXPECT_EQ(lo->dataplane.mbufs, 1023u);
    EXPECT_EQ(lo->dataplane.mbuf_size, 2176u);
    EXPECT_EQ(lo->dataplane.rx_desc, 64);
    EXPECT_EQ(lo->dataplane.tx_desc, 64);
    EXPECT_EQ(lo->dataplane.neighbours, 16u);
    EXPECT_EQ(lo->dataplane.arp_timeout, 1u);
    EXPECT_EQ(lo->timeouts.tcp, 1u);
    EXPECT_EQ(lo->timeouts.tcp_fin, 1u);
    EXPECT_EQ(lo->timeouts.udp, 1u);

    const auto hi = load(kBase +
                         "dataplane = { conn_table_size = 134217728L; mbufs = 16777216;\n"
                         "  rx_desc = 4096; tx_desc = 4096; neighbours = 1048576;\n"
                         "  arp_timeout = 86400; mbuf_size = 65535; };\n"
                         "timeouts = { tcp = 2678400; tcp_fin = 2678400; udp = 2678400; };\n");
    ASSERT_TRUE(hi.is_ok()) << hi.status().message();
    EXPECT_EQ(hi->dataplane.conn_table_size, 1u << 27);
    EXPECT_EQ(hi->dataplane.mbufs, 1u << 24);
    EXPECT_EQ(hi->dataplane.mbuf_size, 65535u);
    EXPECT_EQ(hi->dataplane.rx_desc, 4096);
    EXPECT_EQ(hi->dataplane.tx_desc, 4096);
    EXPECT_EQ(hi->dataplane.neighbours, 1u << 20);
    EXPECT_EQ(hi->dataplane.arp_timeout, 86400u);
    EXPECT_EQ(hi->timeouts.tcp, 2678400u);
    EXPECT_EQ(hi->timeouts.tcp_fin, 2678400u);
    EXPECT_EQ(hi->timeouts.udp, 2678400u);
}

TEST(Loader, Reassembly) {
    const auto def = load(kBase);
    ASSERT_TRUE(def.is_ok()) << def.status().message();
    EXPECT_EQ(def->dataplane.reassembly, 256u);
    EXPECT_EQ(def->dataplane.frag_timeout, 30u);
    // The default shrinks to what a small pool can hold (half of it, 8 fragments a datagram).
    const auto small = load(kBase + "dataplane = { mbufs = 1023; };\n");
    ASSERT_TRUE(small.is_ok()) << small.status().message();
    EXPECT_EQ(small->dataplane.reassembly, 63u);
    const auto off = load(kBase + "dataplane = { reassembly = 0; frag_timeout = 300; };\n");
    ASSERT_TRUE(off.is_ok()) << off.status().message();
    EXPECT_EQ(off->dataplane.reassembly, 0u);
    EXPECT_EQ(off->dataplane.frag_timeout, 300u);
}

TEST(Loader, PollModes) {
    const auto def = load(kBase);
    ASSERT_TRUE(def.is_ok()) << def.status().message();
    EXPECT_EQ(def->dataplane.poll, PollMode::Busy);  // production default: lowest latency
    EXPECT_EQ(def->dataplane.idle_polls, 1000u);
    EXPECT_EQ(def->dataplane.max_sleep_us, 1000u);

    const auto busy = load(kBase + "dataplane = { poll = \"busy\"; };\n");
    ASSERT_TRUE(busy.is_ok()) << busy.status().message();
    EXPECT_EQ(busy->dataplane.poll, PollMode::Busy);

    const auto lo = load(kBase +
                         "dataplane = { poll = \"adaptive\"; idle_polls = 1; max_sleep_us = 1; };\n");
    ASSERT_TRUE(lo.is_ok()) << lo.status().message();
    EXPECT_EQ(lo->dataplane.poll, PollMode::Adaptive);
    EXPECT_EQ(lo->dataplane.idle_polls, 1u);
    EXPECT_EQ(lo->dataplane.max_sleep_us, 1u);

    const auto hi = load(kBase +
                         "dataplane = { poll = \"adaptive\"; idle_polls = 100000000;\n"
                         "  max_sleep_us = 100000; };\n");
    ASSERT_TRUE(hi.is_ok()) << hi.status().message();
    EXPECT_EQ(hi->dataplane.idle_polls, 100000000u);
    EXPECT_EQ(hi->dataplane.max_sleep_us, 100000u);
}

TEST(Loader, DefenseDefaultsAndModes) {
    const auto def = load(kBase);
    ASSERT_TRUE(def.is_ok()) << def.status().message();
    // IPVS's defaults: every strategy off, am_droprate 10, amemthresh 1024.
    EXPECT_EQ(def->defense, DefenseCfg{});
    EXPECT_EQ(def->defense.am_droprate, 10u);
    EXPECT_EQ(def->defense.amemthresh, 1024u);

    const auto set = load(kBase +
                          "dataplane = { conn_table_size = 4096; };\n"
                          "defense = { drop_entry = 1; drop_packet = 2; secure_tcp = 3;\n"
                          "  syn_proxy = 3;\n"
                          "  am_droprate = 5; amemthresh = 512; };\n");
    ASSERT_TRUE(set.is_ok()) << set.status().message();
    EXPECT_EQ(set->defense.drop_entry, 1);
    EXPECT_EQ(set->defense.drop_packet, 2);
    EXPECT_EQ(set->defense.secure_tcp, 3);
    EXPECT_EQ(set->defense.syn_proxy, 3);
    EXPECT_EQ(set->defense.am_droprate, 5u);
    EXPECT_EQ(set->defense.amemthresh, 512u);

    // Modes 0 and 3 do not read the threshold: any value goes.
    const auto always = load(kBase +
                             "dataplane = { conn_table_size = 1024; };\n"
                             "defense = { drop_packet = 3; amemthresh = 5000; };\n");
    ASSERT_TRUE(always.is_ok()) << always.status().message();
}

TEST(Loader, PortSides) {
    const auto def = load(kBase);
    ASSERT_TRUE(def.is_ok()) << def.status().message();
    EXPECT_EQ(def->ports[0].side, PortSide::Client);  // the default: clients arrive here
    EXPECT_EQ(def->ports[1].side, PortSide::Client);
    const auto set = load(
        "eal = [];\nports = ( { name = \"ext\"; device = \"d0\"; addresses = [ \"10.0.0.1/24\" ];\n"
        "  side = \"client\"; },\n"
        "  { name = \"int\"; device = \"d1\"; addresses = [ \"10.1.0.1/24\" ]; side = \"server\"; },\n"
        "  { name = \"arm\"; device = \"d2\"; addresses = [ \"10.2.0.1/24\" ]; side = \"both\"; } );\n");
    ASSERT_TRUE(set.is_ok()) << set.status().message();
    EXPECT_EQ(set->ports[0].side, PortSide::Client);
    EXPECT_EQ(set->ports[1].side, PortSide::Server);
    EXPECT_EQ(set->ports[2].side, PortSide::Both);
    const auto bad = load(
        "eal = [];\nports = ( { name = \"ext\"; device = \"d0\"; addresses = [ \"10.0.0.1/24\" ];\n"
        "  side = \"inside\"; } );\n");
    EXPECT_TRUE(fails_with(bad, 3, "ports.[0].side",
                           "unknown port side \"inside\" (expected \"client\", \"server\" or "
                           "\"both\")"));
}

TEST(Loader, Vlans) {
    const auto r = load(
        "eal = [];\n"
        "ports = ( { name = \"ext\"; device = \"d0\"; addresses = [ \"10.0.0.1/24\" ];\n"
        "            vlans = ( { id = 100; addresses = ( \"10.1.0.1/24\", \"10.1.0.100/32\" ); },\n"
        "                      { id = 4094; addresses = [ \"10.2.0.1/24\" ]; } ); },\n"
        "          { name = \"trunk\"; device = \"d1\";\n"
        "            vlans = ( { id = 100; addresses = ( \"172.16.0.1/24\" ); } ); } );\n"
        "routes = ( { prefix = \"192.168.0.0/16\"; via = \"10.1.0.254\"; } );\n");
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    ASSERT_EQ(r->ports.size(), 2u);
    const PortCfg& ext = r->ports[0];
    ASSERT_EQ(ext.vlans.size(), 2u);
    EXPECT_EQ(ext.vlans[0].id, 100);
    EXPECT_EQ(ext.vlans[0].addresses,
              (std::vector<Prefix>{{ip(10, 1, 0, 1), 24}, {ip(10, 1, 0, 100), 32}}));
    EXPECT_EQ(ext.vlans[1].id, 4094);
    EXPECT_EQ(ext.vlans[1].addresses, (std::vector<Prefix>{{ip(10, 2, 0, 1), 24}}));
    EXPECT_EQ(vlan_name(ext, 100), "ext.100");
    EXPECT_EQ(vlan_kernel_name(ext, 4094), "ext.4094");
    // A trunk that carries only VLANs needs no address of its own; the same id on another port
    // is another interface.
    const PortCfg& trunk = r->ports[1];
    EXPECT_TRUE(trunk.addresses.empty());
    ASSERT_EQ(trunk.vlans.size(), 1u);
    EXPECT_EQ(trunk.vlans[0].id, 100);
    // A gateway on a VLAN's subnet is connected.
    ASSERT_EQ(r->routes.size(), 1u);
    EXPECT_EQ(r->routes[0].via, ip(10, 1, 0, 254));
    // No vlans: none.
    const auto plain = load(kBase);
    ASSERT_TRUE(plain.is_ok());
    EXPECT_TRUE(plain->ports[0].vlans.empty());
}

TEST(Loader, AtMostKMaxVlans) {
    std::string text = "eal = [];\nports = ( { name = \"p\"; device = \"d0\"; vlans = (\n";
    for (size_t i = 1; i <= kMaxVlans + 1; ++i) {
        text += "  { id = " + std::to_string(i) + "; addresses = ( \"10." + std::to_string(i) +
                ".0.1/24\" ); }" + (i == kMaxVlans + 1 ? "\n" : ",\n");
    }
    text += "); } );\n";
    const auto r = load(text);
    // The 57th VLAN group is on line 2 + 57.
    EXPECT_TRUE(fails_with(r, static_cast<int>(2 + kMaxVlans + 1), "ports.[0].vlans.[56]",
                           "more than 56 VLANs in all ports together"));
}

TEST(Loader, HostDefaultsAndKernelNames) {
    const auto def = load(kBase);
    ASSERT_TRUE(def.is_ok()) << def.status().message();
    EXPECT_TRUE(def->host.kernel_interfaces);  // an operator expects `dev ext` to exist
    EXPECT_EQ(def->host.queue, 1024u);
    EXPECT_EQ(def->host.rate, 20000u);
    EXPECT_EQ(def->host.burst, 2000u);
    EXPECT_EQ(kernel_name(def->ports[0]), "ext");

    const auto set = load(
        "eal = [];\nports = ( { name = \"outside-facing-port\"; device = \"d0\";\n"
        "  addresses = [ \"10.0.0.1/24\" ]; kernel_name = \"eth0\"; } );\n"
        "host = { queue = 65536; rate = 1; burst = 10000000; };\n");
    ASSERT_TRUE(set.is_ok()) << set.status().message();
    EXPECT_EQ(kernel_name(set->ports[0]), "eth0");
    EXPECT_EQ(set->host.queue, 65536u);
    EXPECT_EQ(set->host.rate, 1u);

    // Without kernel interfaces a long port name needs no kernel name.
    const auto off = load(
        "eal = [];\nports = ( { name = \"outside-facing-port\"; device = \"d0\";\n"
        "  addresses = [ \"10.0.0.1/24\" ]; } );\nhost = { kernel_interfaces = false; };\n");
    ASSERT_TRUE(off.is_ok()) << off.status().message();
    EXPECT_FALSE(off->host.kernel_interfaces);
}

TEST(Loader, MtuLimits) {
    for (const int mtu : {68, 9000, 9702}) {
        const auto r = load(
            "eal = [];\nports = ( { name = \"a\"; device = \"d\"; addresses = [ \"1.1.1.1\" ]; "
            "mtu = " +
            std::to_string(mtu) + "; } );\n");
        ASSERT_TRUE(r.is_ok()) << r.status().message();
        EXPECT_EQ(r->ports[0].mtu, mtu);
    }
}

TEST(Loader, ServiceOptions) {
    const auto r = load(kBase +
                        "services = ( { protocol = \"udp\"; address = \"10.0.0.53:53\";\n"
                        "  persistent = 360; netmask = \"255.255.255.0\";\n"
                        "  flags = [ \"sh-fallback\", \"sh-port\", \"flag-3\", \"ops\" ];\n"
                        "  servers = ( { address = \"172.16.0.11\"; forward = \"dr\"; weight = 0;\n"
                        "                u_threshold = 100; l_threshold = 50; },\n"
                        "              { address = \"172.16.0.12:0\"; forward = \"tun\"; },\n"
                        "              { address = \"172.16.0.13:5353\"; forward = \"masq\";\n"
                        "                weight = 65535; } ); } );\n");
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    ASSERT_EQ(r->services.size(), 1u);
    const Service& s = r->services[0];
    EXPECT_EQ(s.key, (ServiceKey{Proto::Udp, ip(10, 0, 0, 53), 53}));
    EXPECT_EQ(s.scheduler, "wlc");
    EXPECT_EQ(s.flags, kSvcPersistent | kSvcSched1 | kSvcSched2 | kSvcSched3 | kSvcOnePacket);
    EXPECT_EQ(s.timeout, 360u);
    EXPECT_EQ(s.netmask, 0xffffff00u);
    ASSERT_EQ(s.servers.size(), 3u);
    EXPECT_EQ(s.servers[0], (RealServer{ip(172, 16, 0, 11), 53, Fwd::Route, 0, 100, 50}));
    EXPECT_EQ(s.servers[1], (RealServer{ip(172, 16, 0, 12), 53, Fwd::Tunnel, 1, 0, 0}));
    EXPECT_EQ(s.servers[2], (RealServer{ip(172, 16, 0, 13), 5353, Fwd::Masq, 65535, 0, 0}));
}

TEST(Loader, TunnelServers) {
    const auto r = load(kBase +
                        "services = ( { protocol = \"udp\"; address = \"10.0.0.53:53\";\n"
                        "  servers = ( { address = \"172.16.0.11\"; forward = \"tun\";\n"
                        "                tun_type = \"gue\"; tun_port = 6080; tun_csum = \"remcsum\"; },\n"
                        "              { address = \"172.16.0.12\"; forward = \"tun\";\n"
                        "                tun_type = \"gre\"; tun_csum = \"csum\"; },\n"
                        "              { address = \"172.16.0.13\"; forward = \"tun\";\n"
                        "                tun_type = \"ipip\"; tun_csum = \"nocsum\"; } ); } );\n");
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    const Service& s = r->services[0];
    ASSERT_EQ(s.servers.size(), 3u);
    EXPECT_EQ(s.servers[0].tun_type, TunType::Gue);
    EXPECT_EQ(s.servers[0].tun_port, 6080);
    EXPECT_EQ(s.servers[0].tun_csum, TunCsum::RemCsum);
    EXPECT_EQ(s.servers[1].tun_type, TunType::Gre);
    EXPECT_EQ(s.servers[1].tun_port, 0);
    EXPECT_EQ(s.servers[1].tun_csum, TunCsum::Csum);
    EXPECT_EQ(s.servers[2].tun_type, TunType::Ipip);
    EXPECT_EQ(s.servers[2].tun_csum, TunCsum::None);
}

TEST(Loader, MhFlagAliases) {
    const auto r = load(kBase + svc("flags = [ \"mh-fallback\", \"mh-port\" ];"));
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    EXPECT_EQ(r->services[0].flags, kSvcSched1 | kSvcSched2);
}

TEST(Loader, SameAddressDifferentProtocolOrPortIsNotDuplicate) {
    const auto r = load(kBase +
                        "services = ( { protocol = \"tcp\"; address = \"10.0.0.100:80\"; },\n"
                        "  { protocol = \"udp\"; address = \"10.0.0.100:80\"; },\n"
                        "  { protocol = \"sctp\"; address = \"10.0.0.100:80\"; },\n"
                        "  { protocol = \"tcp\"; address = \"10.0.0.100:443\"; } );\n");
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    EXPECT_EQ(r->services.size(), 4u);
}

TEST(Loader, SctpService) {
    const auto r = load(kBase +
                        "services = ( { protocol = \"sctp\"; address = \"10.0.0.100:5000\";\n"
                        "  scheduler = \"rr\";\n"
                        "  servers = ( { address = \"172.16.0.11:5001\"; forward = \"nat\"; },\n"
                        "              { address = \"172.16.0.12\"; forward = \"dr\"; } ); } );\n");
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    ASSERT_EQ(r->services.size(), 1u);
    const Service& s = r->services[0];
    EXPECT_EQ(s.key, (ServiceKey{Proto::Sctp, ip(10, 0, 0, 100), 5000}));
    ASSERT_EQ(s.servers.size(), 2u);
    EXPECT_EQ(s.servers[0].port, 5001);
    EXPECT_EQ(s.servers[1].port, 5000);
    EXPECT_EQ(s.servers[1].fwd, Fwd::Route);
}

TEST(Loader, EmptyListsMayBeWrittenAsArrays) {
    const auto r = load(kBase + "routes = [];\nservices = [];\n");
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    EXPECT_TRUE(r->routes.empty());
    EXPECT_TRUE(r->services.empty());
}

TEST(Loader, RouteViaAnyPortSubnet) {
    const auto r = load(kBase +
                        "routes = ( { prefix = \"192.168.0.0/16\"; via = \"172.16.0.254\"; },\n"
                        "           { prefix = \"10.9.0.0/16\"; via = \"10.0.0.2\"; } );\n");
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    ASSERT_EQ(r->routes.size(), 2u);
    EXPECT_EQ(r->routes[0].prefix, (Prefix{ip(192, 168, 0, 0), 16}));
    EXPECT_EQ(r->routes[0].via, ip(172, 16, 0, 254));
    EXPECT_EQ(r->routes[1].via, ip(10, 0, 0, 2));
}

TEST(Loader, DefaultSchedulerIsChecked) {
    const LoadOptions no_wlc{[](std::string_view name) -> std::optional<std::string> {
        if (name == "wlc") {
            return "scheduler \"wlc\" is not built in";
        }
        return std::nullopt;
    }};
    const auto r = load(kBase +
                            "services = ( { protocol = \"tcp\";\n"
                            "  address = \"10.0.0.100:80\"; } );\n",
                        no_wlc);
    EXPECT_TRUE(
        fails_with(r, 4, "services.[0]", "scheduler \"wlc\" is not built in", Errc::NoScheduler));
}

TEST(Loader, SchedulerCheckIsOptional) {
    const auto r = load(kBase + svc("scheduler = \"anything\";"));
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    EXPECT_EQ(r->services[0].scheduler, "anything");
}

// ---- firewall-mark services and mark rules ----

TEST(Loader, FwmarkServiceAndMarkRules) {
    const auto r =
        load(kBase +
             "services = ( { fwmark = 1; scheduler = \"rr\"; persistent = 300;\n"
             "  servers = ( { address = \"172.16.0.11\"; forward = \"nat\"; } ); } );\n"
             "marks = ( { address = \"10.0.0.100/32\"; protocol = \"tcp\";\n"
             "            ports = \"80,443\"; mark = 1; },\n"
             "          { address = \"10.0.0.0/24\"; ports = \"8000-8100\"; mark = 2; },\n"
             "          { address = \"10.0.1.1\"; protocol = \"udp\"; mark = 3; },\n"
             "          { address = \"10.0.1.2\"; protocol = \"sctp\"; mark = 4; } );\n");
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    ASSERT_EQ(r->services.size(), 1u);
    const Service& s = r->services[0];
    EXPECT_EQ(s.key.fwmark, 1u);
    EXPECT_EQ(s.key.addr, 0u);
    EXPECT_EQ(s.key.port, 0);
    EXPECT_EQ(s.key.proto, Proto::Tcp);
    ASSERT_EQ(s.servers.size(), 1u);
    EXPECT_EQ(s.servers[0].port, 0);  // no port: the packet's
    ASSERT_EQ(r->marks.size(), 4u);
    EXPECT_EQ(r->marks[3].proto, 132);
    EXPECT_EQ(r->marks[0].dst, (Prefix{ip(10, 0, 0, 100), 32}));
    EXPECT_EQ(r->marks[0].proto, 6);
    EXPECT_EQ(r->marks[0].ports, (std::vector<PortRange>{{80, 80}, {443, 443}}));
    EXPECT_EQ(r->marks[0].mark, 1u);
    EXPECT_EQ(r->marks[1].proto, kMarkAnyProto);
    EXPECT_EQ(r->marks[1].ports, (std::vector<PortRange>{{8000, 8100}}));
    EXPECT_EQ(r->marks[2].dst, (Prefix{ip(10, 0, 1, 1), 32}));
    EXPECT_EQ(r->marks[2].proto, 17);
    EXPECT_TRUE(r->marks[2].ports.empty());
}

TEST(Loader, Ipv6MarkRules) {
    const auto r = load(kBase + "marks = ( { address = \"2001:db8::100/128\"; protocol = \"tcp\";\n"
                                "            ports = \"80,443\"; mark = 1; },\n"
                                "          { address = \"2001:db8:1::/64\"; mark = 2; } );\n");
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    ASSERT_EQ(r->marks.size(), 2u);
    EXPECT_EQ(r->marks[0].af, Family::Inet6);
    EXPECT_EQ(r->marks[0].dst6, (Prefix6{*parse_ip6("2001:db8::100"), 128}));
    EXPECT_EQ(r->marks[0].ports, (std::vector<PortRange>{{80, 80}, {443, 443}}));
    EXPECT_EQ(r->marks[1].dst6, (Prefix6{*parse_ip6("2001:db8:1::"), 64}));
    EXPECT_EQ(r->marks[1].proto, kMarkAnyProto);
    const auto bad = load(kBase + "marks = ( { address = \"2001:db8::1/64\"; mark = 1; } );\n");
    ASSERT_FALSE(bad.is_ok());
    EXPECT_NE(bad.status().message().find("host bits are set (did you mean 2001:db8::/64?)"),
              std::string::npos)
        << bad.status().message();
}

TEST(Loader, FwmarkAndMarkRuleErrors) {
    EXPECT_TRUE(fails_with(load(kBase + "services = ( { fwmark = 1; protocol = \"tcp\"; } );\n"), 4,
                           "services.[0].protocol", "a fwmark service takes no protocol"));
    EXPECT_TRUE(fails_with(load(kBase + "services = ( { fwmark = 0; } );\n"), 4,
                           "services.[0].fwmark", "out of range"));
    EXPECT_TRUE(fails_with(
        load(kBase + "services = ( { fwmark = 1; }, { fwmark = 1; persistent = 60; } );\n"), 4,
        "services.[1]", "duplicate service FWM 1 (first at line 4)", Errc::ServiceExists));
    EXPECT_TRUE(fails_with(load(kBase + "marks = ( { address = \"10.0.0.1/24\"; mark = 1; } );\n"),
                           4, "marks.[0].address", "host bits are set in \"10.0.0.1/24\""));
    EXPECT_TRUE(fails_with(load(kBase + "marks = ( { address = \"10.0.0.1\"; ports = \"90-80\";\n"
                                        "            mark = 1; } );\n"),
                           4, "marks.[0].ports", "bad port list \"90-80\""));
    EXPECT_TRUE(fails_with(load(kBase + "marks = ( { address = \"10.0.0.1\"; ports = \"80,\";\n"
                                        "            mark = 1; } );\n"),
                           4, "marks.[0].ports", "bad port list"));
    EXPECT_TRUE(fails_with(
        load(kBase + "marks = ( { address = \"10.0.0.1\"; protocol = \"icmp\"; mark = 1; } );\n"),
        4, "marks.[0].protocol", "unknown protocol \"icmp\""));
    EXPECT_TRUE(fails_with(load(kBase + "marks = ( { address = \"10.0.0.1\"; } );\n"), 4,
                           "marks.[0].mark", "required key is missing"));
    EXPECT_TRUE(fails_with(load(kBase + "marks = ( { address = \"10.0.0.1\"; mark = 0; } );\n"), 4,
                           "marks.[0].mark", "out of range"));
    EXPECT_TRUE(fails_with(load(kBase + "marks = ( { address = \"10.0.0.1\"; mark = 1; },\n"
                                        "          { address = \"10.0.0.1/32\"; mark = 2; } );\n"),
                           5, "marks.[1]",
                           "duplicate mark rule 10.0.0.1/32 ports * (first at line 4)"));
    EXPECT_TRUE(
        fails_with(load(kBase + "marks = ( { address = \"10.0.0.1\"; mark = 1; port = 8; } );\n"),
                   4, "marks.[0].port", "did you mean \"ports\"?"));
}

// ---- IPv6 port addresses and routes ----

const std::string kBase6 =
    "eal = [];\n"
    "ports = ( { name = \"ext\"; device = \"d0\"; addresses = [ \"10.0.0.1/24\", "
    "\"2001:db8:1::1/64\" ]; },\n"
    "          { name = \"int\"; device = \"d1\"; addresses = [ \"2001:db8:2::1/64\" ]; } );\n";

TEST(Loader, Ipv6AddressesAndRoutes) {
    const auto r = load(kBase6 +
                        "routes = ( { prefix = \"0.0.0.0/0\"; via = \"10.0.0.254\"; },\n"
                        "           { prefix = \"2001:db8:100::/48\"; via = \"2001:db8:2::fe\"; },\n"
                        "           { prefix = \"::/0\"; via = \"2001:DB8:1::FE\"; } );\n");
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    ASSERT_EQ(r->ports.size(), 2u);
    EXPECT_EQ(r->ports[0].addresses, (std::vector<Prefix>{{ip(10, 0, 0, 1), 24}}));
    ASSERT_EQ(r->ports[0].addresses6.size(), 1u);
    EXPECT_EQ(format_prefix6(r->ports[0].addresses6[0]), "2001:db8:1::1/64");
    EXPECT_TRUE(r->ports[1].addresses.empty());  // an IPv6-only port
    ASSERT_EQ(r->ports[1].addresses6.size(), 1u);
    EXPECT_EQ(format_prefix6(r->ports[1].addresses6[0]), "2001:db8:2::1/64");
    ASSERT_EQ(r->routes.size(), 1u);
    ASSERT_EQ(r->routes6.size(), 2u);
    EXPECT_EQ(format_prefix6(r->routes6[0].prefix), "2001:db8:100::/48");
    EXPECT_EQ(format_ip6(r->routes6[0].via), "2001:db8:2::fe");
    EXPECT_EQ(format_prefix6(r->routes6[1].prefix), "::/0");
    EXPECT_EQ(format_ip6(r->routes6[1].via), "2001:db8:1::fe");
}

std::string route6(std::string_view prefix, std::string_view via) {
    return "routes = ( { prefix = \"" + std::string(prefix) + "\"; via = \"" + std::string(via) +
           "\"; } );\n";
}

std::string port6(std::string_view addr) {
    return "eal = [];\nports = ( { name = \"ext\"; device = \"d0\";\n addresses = [ \"" +
           std::string(addr) + "\" ]; } );\n";
}

const BadCase kBadCases6[] = {
    {"BadAddress", port6("2001:db8::g/64"), 3, "ports.[0].addresses.[0]",
     "bad IPv6 prefix \"2001:db8::g/64\"", Errc::Invalid, true},
    {"Zone", port6("fe80::1%eth0/64"), 3, "ports.[0].addresses.[0]", "bad IPv6 prefix",
     Errc::Invalid, true},
    {"LengthTooLong", port6("2001:db8::1/129"), 3, "ports.[0].addresses.[0]", "bad IPv6 prefix",
     Errc::Invalid, true},
    {"Multicast", port6("ff02::1/64"), 3, "ports.[0].addresses.[0]",
     "ff02::1 cannot be a port address", Errc::Invalid, true},
    {"Unspecified", port6("::/64"), 3, "ports.[0].addresses.[0]", ":: cannot be a port address",
     Errc::Invalid, true},
    {"LinkLocal", port6("fe80::1/64"), 3, "ports.[0].addresses.[0]",
     "link-local fe80::1 cannot be configured", Errc::Invalid, true},
    {"SubnetRouterAnycast", port6("2001:db8:1::/64"), 3, "ports.[0].addresses.[0]",
     "subnet-router anycast address", Errc::Invalid, true},
    {"Duplicate",
     "eal = [];\nports = ( { name = \"a\"; device = \"d0\"; addresses = [ \"2001:db8::1/64\" ]; "
     "},\n { name = \"b\"; device = \"d1\"; addresses = [ \"2001:DB8::1/64\" ]; } );\n",
     3, "ports.[1].addresses.[0]", "address 2001:db8::1 is already assigned (line 2)",
     Errc::Invalid, true},
    {"RouteBadPrefix", kBase6 + route6("2001:db8:x::/48", "2001:db8:1::fe"), 4,
     "routes.[0].prefix", "bad IPv6 prefix \"2001:db8:x::/48\""},
    {"RouteHostBits", kBase6 + route6("2001:db8:100::1/48", "2001:db8:1::fe"), 4,
     "routes.[0].prefix", "did you mean \"2001:db8:100::/48\"?"},
    {"RouteDuplicate",
     kBase6 + "routes = ( { prefix = \"2001:db8:100::/48\"; via = \"2001:db8:1::fe\"; },\n"
              "  { prefix = \"2001:db8:100:0::/48\"; via = \"2001:db8:2::fe\"; } );\n",
     5, "routes.[1].prefix", "duplicate route 2001:db8:100::/48 (first at line 4)"},
    {"RouteIpv4Gateway", kBase6 + route6("2001:db8:100::/48", "10.0.0.254"), 4, "routes.[0].via",
     "an IPv6 route needs an IPv6 gateway, not \"10.0.0.254\""},
    {"RouteBadGateway", kBase6 + route6("2001:db8:100::/48", "2001:db8::zz"), 4,
     "routes.[0].via", "bad IPv6 address \"2001:db8::zz\""},
    {"RouteGatewayOurs", kBase6 + route6("2001:db8:100::/48", "2001:db8:2::1"), 4,
     "routes.[0].via", "gateway 2001:db8:2::1 is an address of port \"int\""},
    {"RouteGatewayNotConnected", kBase6 + route6("2001:db8:100::/48", "2001:db8:3::fe"), 4,
     "routes.[0].via", "gateway 2001:db8:3::fe is not on a connected IPv6 subnet"},
    {"RouteGatewayMissing", kBase6 + "routes = ( { prefix = \"::/0\"; } );\n", 4, "routes.[0].via",
     "required key is missing"},
    {"Ipv4RouteIpv6Gateway", kBase6 + route6("10.1.0.0/16", "2001:db8:1::fe"), 4,
     "routes.[0].via", "bad address \"2001:db8:1::fe\""},
};

class LoaderErrors6 : public ::testing::TestWithParam<BadCase> {};

TEST_P(LoaderErrors6, NamesLineKeyAndReason) {
    const BadCase& c = GetParam();
    const auto r = load(c.text);  // every case is a whole file
    EXPECT_TRUE(fails_with(r, c.line, c.path, c.what, c.code));
}

INSTANTIATE_TEST_SUITE_P(Ipv6, LoaderErrors6, ::testing::ValuesIn(kBadCases6),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace dirigo::cfg

namespace dirigo::cfg {
namespace {

// ---- IPv6 services ----

TEST(Loader, Ipv6ServicesAndServers) {
    const auto r = load(kBase +
                        "services = ( { protocol = \"tcp\"; address = \"[2001:db8::100]:80\";\n"
                        "  scheduler = \"rr\"; persistent = 300; prefix6 = 64;\n"
                        "  servers = ( { address = \"[2001:db8:1::11]:8080\"; forward = \"nat\"; },\n"
                        "              { address = \"2001:db8:1::12\"; forward = \"nat\"; },\n"
                        "              { address = \"2001:db8:1::13\"; forward = \"tun\"; } ); },\n"
                        "  { fwmark = 7; ipv6 = true; servers = ( { address = \"2001:db8:1::21\"; } ); } );\n");
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    ASSERT_EQ(r->services.size(), 2u);
    const Service& s = r->services[0];
    EXPECT_EQ(s.key.af, Family::Inet6);
    EXPECT_EQ(format_ip6(s.key.addr6), "2001:db8::100");
    EXPECT_EQ(s.key.addr, 0u);
    EXPECT_EQ(s.key.port, 80);
    EXPECT_EQ(s.prefix6, 64);
    ASSERT_EQ(s.servers.size(), 3u);
    EXPECT_EQ(s.servers[0].af, Family::Inet6);
    EXPECT_EQ(format_ip6(s.servers[0].addr6), "2001:db8:1::11");
    EXPECT_EQ(s.servers[0].port, 8080);
    EXPECT_EQ(s.servers[1].port, 80);  // no port: the service's
    EXPECT_EQ(s.servers[2].af, Family::Inet6);
    EXPECT_EQ(s.servers[2].fwd, Fwd::Tunnel);
    EXPECT_EQ(r->services[1].key.af, Family::Inet6);
    EXPECT_EQ(r->services[1].key.fwmark, 7u);
    EXPECT_EQ(r->services[1].servers[0].af, Family::Inet6);
}

TEST(Loader, Ipv6ServiceErrors) {
    const std::string head = kBase + "services = ( { protocol = \"tcp\"; ";
    EXPECT_TRUE(fails_with(load(head + "address = \"2001:db8::100\"; } );\n"), 4,
                           "services.[0].address", "missing port in \"2001:db8::100\""));
    EXPECT_TRUE(fails_with(load(head + "address = \"[2001:db8::100]\"; } );\n"), 4,
                           "services.[0].address", "bad address \"[2001:db8::100]\""));
    EXPECT_TRUE(fails_with(load(head + "address = \"[ff02::1]:80\"; } );\n"), 4,
                           "services.[0].address", "not a unicast IPv6 address"));
    EXPECT_TRUE(fails_with(load(head + "address = \"[2001:db8::100]:80\";\n"
                                       "  persistent = 60; netmask = \"255.255.255.0\"; } );\n"),
                           5, "services.[0].netmask", "prefix6"));
    EXPECT_TRUE(fails_with(load(head + "address = \"10.0.0.1:80\";\n"
                                       "  persistent = 60; prefix6 = 64; } );\n"),
                           5, "services.[0].prefix6", "prefix6 is for IPv6 services"));
    EXPECT_TRUE(fails_with(load(head + "address = \"[2001:db8::100]:80\";\n"
                                       "  persistent = 60; prefix6 = 129; } );\n"),
                           5, "services.[0].prefix6", "out of range 1..128"));
    EXPECT_TRUE(fails_with(
        load(head + "address = \"[2001:db8::100]:80\";\n"
                    "  servers = ( { address = \"10.0.0.11\"; forward = \"nat\"; } ); } );\n"),
        5, "services.[0].servers.[0]",
        "Different address family is allowed only for tunneling servers"));
    EXPECT_TRUE(fails_with(
        load(head + "address = \"[2001:db8::100]:80\";\n"
                    "  servers = ( { address = \"[2001:db8::11]:80\"; forward = \"nat\"; },\n"
                    "              { address = \"2001:db8::11\"; forward = \"nat\"; } ); } );\n"),
        6, "services.[0].servers.[1]",
        "duplicate real server [2001:db8::11]:80 (first at line 5)", Errc::DestExists));
    EXPECT_TRUE(fails_with(load(head + "address = \"10.0.0.1:80\"; ipv6 = true; } );\n"), 4,
                           "services.[0].ipv6", "ipv6 is for fwmark services"));
}

}  // namespace
}  // namespace dirigo::cfg
