#include "tests/e2e/stack.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pistache/endpoint.h>
#include <pistache/http.h>

#include "tests/support/http_client.h"
#include "tests/support/env.h"
#include "tests/support/test_database.h"

extern char** environ;

namespace flightdeck::test {
namespace {

std::vector<std::string> MergedEnv(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    size_t eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) env[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::string RandomHex(int bytes) {
  std::random_device rd;
  std::string out;
  static const char kHex[] = "0123456789abcdef";
  for (int i = 0; i < bytes; ++i) {
    unsigned b = rd() & 0xff;
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

}  // namespace

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

Process::Process(std::string name, std::string binary, std::map<std::string, std::string> env,
                 std::vector<std::string> args)
    : name_(std::move(name)),
      log_path_("/tmp/fd-e2e-" + name_ + "-" + std::to_string(getpid()) + "-" + RandomHex(4) + ".log") {
  std::vector<std::string> env_strings = MergedEnv(env);
  std::vector<std::string> argv_strings = {binary};
  for (const std::string& a : args) argv_strings.push_back(a);
  std::vector<char*> envp = CStrings(env_strings);
  std::vector<char*> argv = CStrings(argv_strings);
  int log_fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_ = fork();
  if (pid_ == 0) {
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    // The test's signal mask must not leak into the child (services sigwait on SIGTERM).
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(log_fd);
}

Process::~Process() {
  Stop();
  unlink(log_path_.c_str());
}

bool Process::Running() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

void Process::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 150; ++i) {
    if (!Running()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void Process::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void Process::Signal(int sig) {
  if (pid_ <= 0) return;
  kill(pid_, sig);
  if (sig != SIGSTOP) return;
  // kill() only queues the stop: wait (at most 2 s) until every thread shows state T in
  // /proc/PID/task/*/stat, so that a fault test's calls start against a stopped process.
  const std::string tasks = "/proc/" + std::to_string(pid_) + "/task";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < deadline) {
    bool all_stopped = true;
    std::error_code error;  // the process may be gone: then there is nothing to wait for
    for (auto task = std::filesystem::directory_iterator(tasks, error);
         !error && task != std::filesystem::directory_iterator(); task.increment(error)) {
      std::ifstream stat(task->path() / "stat");
      std::string line;
      std::getline(stat, line);
      size_t paren = line.rfind(')');
      if (paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] != 'T') all_stopped = false;
    }
    if (all_stopped || error) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool Process::WaitExit(std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (Running()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

std::string Process::LogTail(size_t bytes) const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string all = ss.str();
  return all.size() > bytes ? all.substr(all.size() - bytes) : all;
}

CommandResult RunCommand(const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& env) {
  CommandResult result;
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return result;
  std::vector<std::string> env_strings = MergedEnv(env);
  std::vector<std::string> argv_strings = args;
  std::vector<char*> envp = CStrings(env_strings);
  std::vector<char*> argv = CStrings(argv_strings);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    dup2(pipe_fds[1], STDERR_FILENO);
    close(pipe_fds[0]);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, STDIN_FILENO);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  char buf[4096];
  ssize_t n;
  while ((n = read(pipe_fds[0], buf, sizeof buf)) > 0) result.output.append(buf, static_cast<size_t>(n));
  close(pipe_fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// --- OTLP receiver -----------------------------------------------------------------------

struct OtlpReceiver::Impl {
  struct Shared {
    std::mutex mu;
    std::vector<std::string> bodies;
  };
  class Handler : public Pistache::Http::Handler {
   public:
    HTTP_PROTOTYPE(Handler)
    explicit Handler(std::shared_ptr<Shared> s) : shared_(std::move(s)) {}
    void onRequest(const Pistache::Http::Request& request,
                   Pistache::Http::ResponseWriter response) override {
      if (request.resource() == "/v1/traces") {
        std::lock_guard<std::mutex> lock(shared_->mu);
        shared_->bodies.push_back(request.body());
      }
      response.send(Pistache::Http::Code::Ok, "{}");
    }

   private:
    std::shared_ptr<Shared> shared_;
  };
  std::shared_ptr<Shared> shared = std::make_shared<Shared>();
  std::unique_ptr<Pistache::Http::Endpoint> endpoint;
};

OtlpReceiver::OtlpReceiver() : impl_(std::make_unique<Impl>()) {
  impl_->endpoint = std::make_unique<Pistache::Http::Endpoint>(
      Pistache::Address("127.0.0.1", Pistache::Port(0)));
  impl_->endpoint->init(Pistache::Http::Endpoint::options().threads(1).maxRequestSize(16 << 20));
  impl_->endpoint->setHandler(std::make_shared<Impl::Handler>(impl_->shared));
  impl_->endpoint->serveThreaded();
}

OtlpReceiver::~OtlpReceiver() { impl_->endpoint->shutdown(); }

std::string OtlpReceiver::endpoint() const {
  return "http://127.0.0.1:" + std::to_string(static_cast<uint16_t>(impl_->endpoint->getPort()));
}

std::vector<std::string> OtlpReceiver::Bodies() const {
  std::lock_guard<std::mutex> lock(impl_->shared->mu);
  return impl_->shared->bodies;
}

// --- the stack ---------------------------------------------------------------------------

namespace {

// A port in 20000..32767 nothing listens on now (below Linux's ephemeral range, so outgoing
// connections do not take it meanwhile).
int UnusedPort() {
  std::random_device rd;
  for (int attempt = 0; attempt < 200; ++attempt) {
    int port = 20000 + static_cast<int>(rd() % 12768);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    bool free = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    if (free) return port;
  }
  ADD_FAILURE() << "no unused loopback port found in 20000..32767";
  return 0;
}

}  // namespace

struct Stack::Impl {
  TestDatabase database;
  bool insecure = false;
};

const std::string& TestTlsDir() {
  static const std::string dir = [] {
    const char* given = std::getenv("FLIGHTDECK_TEST_TLS_DIR");
    if (given != nullptr && *given != '\0') return std::string(given);
    char tmpl[] = "/tmp/fd-e2e-tls.XXXXXX";
    std::string made = mkdtemp(tmpl) != nullptr ? tmpl : "";
    CommandResult r = RunCommand({FD_SOURCE_DIR "/scripts/certs", made});
    if (made.empty() || r.exit_code != 0) ADD_FAILURE() << "scripts/certs failed: " << r.output;
    // Gone when the test process ends: keys in /tmp should not outlive their test.
    static std::string to_remove = made;
    std::atexit([] { RunCommand({"/bin/rm", "-rf", to_remove}); });
    return made;
  }();
  return dir;
}

std::shared_ptr<grpc::Channel> ServiceChannel(const std::string& address, const std::string& server_identity,
                                              const std::string& identity) {
  if (identity == "plaintext") return grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  auto read = [](const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  const std::string& dir = TestTlsDir();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = read(dir + "/ca.pem");
  if (!identity.empty()) {
    options.pem_cert_chain = read(dir + "/" + identity + ".pem");
    options.pem_private_key = read(dir + "/" + identity + ".key");
  }
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride(server_identity);
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(options), args);
}

std::shared_ptr<grpc::Channel> Stack::Channel(const std::string& service, const std::string& identity) const {
  return ServiceChannel(grpc_address(service), service, impl_->insecure ? "plaintext" : identity);
}

Stack::Stack(std::map<std::string, std::string> extra) : impl_(std::make_unique<Impl>()) {
  database_url_ = impl_->database.url();
  admin_token_ = "fd_admin_" + RandomHex(16);
  std::map<std::string, std::string> base = extra;
  base["DATABASE_URL"] = database_url_;
  // A test may bring its own Redis (one it stops) through `extra`.
  if (base.count("REDIS_URL") == 0) base["REDIS_URL"] = RequireEnv("REDIS_URL");
  base["FLIGHTDECK_BIND_ADDRESS"] = "127.0.0.1";
  // A fresh 32-byte master key for every service (backups, health and incidents seal with it),
  // unless the test brings its own under either name.
  const bool own_key = base.count("FLIGHTDECK_MASTER_KEY") + base.count("FLIGHTDECK_MASTER_KEY_FILE") +
                           base.count("FLIGHTDECK_BACKUP_KEY") + base.count("FLIGHTDECK_BACKUP_KEY_FILE") > 0;
  if (!own_key) {
    std::string raw;
    std::random_device rd;
    for (int i = 0; i < 32; ++i) raw.push_back(static_cast<char>(rd() & 0xff));
    static const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string b64;
    for (size_t i = 0; i < raw.size(); i += 3) {
      uint32_t n = (uint8_t(raw[i]) << 16) | (i + 1 < raw.size() ? uint8_t(raw[i + 1]) << 8 : 0) |
                   (i + 2 < raw.size() ? uint8_t(raw[i + 2]) : 0);
      b64.push_back(kB64[(n >> 18) & 63]);
      b64.push_back(kB64[(n >> 12) & 63]);
      b64.push_back(i + 1 < raw.size() ? kB64[(n >> 6) & 63] : '=');
      b64.push_back(i + 2 < raw.size() ? kB64[n & 63] : '=');
    }
    base["FLIGHTDECK_MASTER_KEY"] = b64;
    base["FLIGHTDECK_MASTER_KEY_FILE"] = "";  // an inherited one would clash (empty is unset)
  }
  if (base.find("LOG_LEVEL") == base.end()) base["LOG_LEVEL"] = "info";
  // Backup targets must store under FLIGHTDECK_BACKUP_ROOT: the tests' storage directories are
  // made with mkdtemp in /tmp, unless a test narrows the root to its own.
  if (base.find("FLIGHTDECK_BACKUP_ROOT") == base.end()) base["FLIGHTDECK_BACKUP_ROOT"] = "/tmp";
  auto insecure = base.find("FLIGHTDECK_GRPC_INSECURE");
  impl_->insecure = insecure != base.end() && (insecure->second == "true" || insecure->second == "1");
  // Each process presents its own identity's certificate, as scripts/up and the manifests do.
  // A test may bring its own certificates (FLIGHTDECK_TEST_TLS_DIR in `extra`), to rotate them.
  auto own_dir = base.find("FLIGHTDECK_TEST_TLS_DIR");
  const std::string tls_dir = own_dir != base.end() ? own_dir->second : TestTlsDir();
  auto with_identity = [this, tls_dir](std::map<std::string, std::string> env, const std::string& identity) {
    if (impl_->insecure) return env;
    const std::string& dir = tls_dir;
    env.emplace("FLIGHTDECK_TLS_CA_FILE", dir + "/ca.pem");
    env.emplace("FLIGHTDECK_TLS_CERT_FILE", dir + "/" + identity + ".pem");
    env.emplace("FLIGHTDECK_TLS_KEY_FILE", dir + "/" + identity + ".key");
    return env;
  };

  // Every process binds port 0 and the ports are read from its "serving" log line: picking
  // "free" ports up front races with other tests starting at the same time. Started one after
  // the other so that each knows where the ones before it listen; incidents and releases call
  // each other (deploy correlation, release alerts), so their gRPC ports alone are chosen up
  // front, outside the kernel's ephemeral range.
  grpc_ports_["incidents"] = UnusedPort();
  grpc_ports_["releases"] = UnusedPort();
  const std::vector<std::pair<std::string, std::string>> services = {
      {"backups", FD_BIN_BACKUPS},
      {"health", FD_BIN_HEALTH},
      {"incidents", FD_BIN_INCIDENTS},
      {"releases", FD_BIN_RELEASES}};
  const std::map<std::string, std::vector<std::string>> calls = {
      {"backups", {"incidents"}},
      {"health", {"incidents"}},
      {"incidents", {"releases"}},
      {"releases", {"backups", "health", "incidents"}}};
  std::map<std::string, std::string> gateway_env = with_identity(base, "gateway");
  for (const auto& [name, binary] : services) {
    std::map<std::string, std::string> env = with_identity(base, name);
    env["FLIGHTDECK_GRPC_PORT"] = grpc_ports_.count(name) ? std::to_string(grpc_ports_[name]) : "0";
    env["FLIGHTDECK_ADMIN_PORT"] = "0";
    for (const std::string& peer : calls.at(name)) {
      std::string upper = peer;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      // A test may point a service elsewhere (or at nothing) through `extra`.
      env.emplace("FLIGHTDECK_" + upper + "_ADDR", grpc_address(peer));
    }
    processes_.push_back(std::make_unique<Process>(name, binary, env));
    nlohmann::json serving = WaitServing(*processes_.back());
    grpc_ports_[name] = serving.value("grpc_port", 0);
    admin_ports_[name] = serving.value("admin_port", 0);
    // A restart (KillAndRestart) keeps the ports the others know.
    env["FLIGHTDECK_GRPC_PORT"] = std::to_string(grpc_ports_[name]);
    env["FLIGHTDECK_ADMIN_PORT"] = std::to_string(admin_ports_[name]);
    specs_.push_back({name, binary, env});
    std::string upper = name;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    gateway_env["FLIGHTDECK_" + upper + "_ADDR"] = grpc_address(name);
  }
  gateway_env["FLIGHTDECK_HTTP_PORT"] = "0";
  gateway_env["FLIGHTDECK_ADMIN_TOKEN"] = admin_token_;
  gateway_env["FLIGHTDECK_MAX_BODY_BYTES"] = "65536";
  specs_.push_back({"gateway", FD_BIN_GATEWAY, gateway_env});
  processes_.push_back(std::make_unique<Process>("gateway", FD_BIN_GATEWAY, gateway_env));
  http_port_ = WaitServing(*processes_.back()).value("http_port", 0);
  specs_.back().env["FLIGHTDECK_HTTP_PORT"] = std::to_string(http_port_);
}

nlohmann::json Stack::WaitServing(Process& process) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline && process.Running()) {
    std::istringstream lines(process.LogTail(1 << 20));
    std::string line;
    while (std::getline(lines, line)) {
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j.value("msg", "") == "serving") return j;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return nlohmann::json::object();  // WaitReady reports the failure with the logs
}

void Stack::KillAndRestart(const std::string& name) { Start(name); }

void Stack::Kill(const std::string& name) { process(name).Kill(); }

void Stack::Start(const std::string& name) {
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (specs_[i].name != name) continue;
    processes_[i]->Kill();  // no-op when it is not running
    processes_[i] = std::make_unique<Process>(specs_[i].name, specs_[i].binary, specs_[i].env);
  }
}

void Stack::Pause(const std::string& name) { process(name).Signal(SIGSTOP); }

void Stack::Resume(const std::string& name) { process(name).Signal(SIGCONT); }

void Stack::Signal(const std::string& name, int sig) { process(name).Signal(sig); }

std::unique_ptr<Process> Stack::Replica(const std::string& name, const std::string& replica_name,
                                        const std::vector<std::string>& prefix,
                                        const std::map<std::string, std::string>& overrides) const {
  for (const Spec& spec : specs_) {
    if (spec.name != name) continue;
    std::map<std::string, std::string> env = spec.env;
    env["FLIGHTDECK_GRPC_PORT"] = "0";
    env["FLIGHTDECK_ADMIN_PORT"] = "0";
    for (const auto& [key, value] : overrides) env[key] = value;
    if (prefix.empty()) return std::make_unique<Process>(replica_name, spec.binary, env);
    std::vector<std::string> args(prefix.begin() + 1, prefix.end());
    args.push_back(spec.binary);
    return std::make_unique<Process>(replica_name, prefix[0], env, args);
  }
  return nullptr;
}

Process& Stack::process(const std::string& name) {
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (specs_[i].name == name) return *processes_[i];
  }
  throw std::out_of_range("no process named " + name + " in the stack");
}

Stack::~Stack() {
  // Gateway first, as an orchestrator would drain it before the services.
  for (auto it = processes_.rbegin(); it != processes_.rend(); ++it) (*it)->Stop();
}

std::string Stack::admin_url(const std::string& service) const {
  return "http://127.0.0.1:" + std::to_string(admin_ports_.at(service));
}

std::string Stack::grpc_address(const std::string& service) const {
  return "127.0.0.1:" + std::to_string(grpc_ports_.at(service));
}

bool Stack::WaitReady() {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    for (auto& p : processes_) {
      if (!p->Running()) {
        ADD_FAILURE() << p->name() << " exited during start-up:\n" << p->LogTail();
        return false;
      }
    }
    HttpResponse r = HttpRequest("GET", gateway_url() + "/readyz", "", {}, 2000);
    if (r.status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ADD_FAILURE() << "stack not ready after 60 s:\n" << Logs();
  return false;
}

std::string Stack::Logs() const {
  std::string out;
  for (const auto& p : processes_) out += "--- " + p->name() + "\n" + p->LogTail(2000) + "\n";
  return out;
}

}  // namespace flightdeck::test
