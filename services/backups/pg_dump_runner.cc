#include "services/backups/pg_dump_runner.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <memory>
#include <pqxx/pqxx>
#include <string_view>
#include <thread>
#include <utility>

#include "common/db/db.h"
#include "common/process/process.h"
#include "services/backups/pg_connection.h"

extern char** environ;

namespace flightdeck::backups {
namespace {

// pg_dump's output goes to the sink in pieces of this size (the last may be shorter).
constexpr size_t kPieceSize = 64 * 1024;
// The data pipe holds this much (Linux's default is 64 KiB). With the default, pg_dump stopped
// whenever the pipe was full, i.e. every time we compressed a piece, and the two took turns
// instead of running side by side. 1 MiB is the most an unprivileged process may ask for
// (/proc/sys/fs/pipe-max-size); a refusal keeps the default.
constexpr int kDataPipeSize = 1 << 20;
// How much of a failing tool's stderr a status message carries.
constexpr size_t kStderrKept = 8192;

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

// Keeps the last few KiB of a tool's stderr, whatever it prints: pg_dump and pg_restore
// (--exit-on-error) end with the error that stopped them, after any number of warnings.
class BoundedText {
 public:
  void Append(const char* data, size_t n) {
    text_.append(data, n);
    if (text_.size() > 2 * kStderrKept) Drop(text_.size() - kStderrKept);
  }

  // Cut at a whole UTF-8 character, NULs replaced: it ends up in a manifest column and a proto
  // string, which both reject invalid UTF-8.
  std::string Text() {
    if (text_.size() > kStderrKept) Drop(text_.size() - kStderrKept);
    size_t skip = 0;
    while (dropped_ > 0 && skip < text_.size() && (text_[skip] & 0xC0) == 0x80) ++skip;
    std::string out = Trim(std::string_view(text_).substr(skip));
    for (char& c : out) {
      if (c == '\0') c = '?';
    }
    if (dropped_ + skip == 0) return out;
    return "[... " + std::to_string(dropped_ + skip) + " bytes omitted ...] " + out;
  }

 private:
  void Drop(size_t n) {
    text_.erase(0, n);
    dropped_ += n;
  }

  std::string text_;
  uint64_t dropped_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Child processes (pg_dump, pg_restore), run directly: no shell to quote for.

using process::ErrnoText;
using process::Fd;

// Only async-signal-safe calls from fork to execve: another thread may have held a lock (malloc,
// the logger) at fork time, and nobody would ever release it in the child.
[[noreturn]] void ExecChild(const char* path, char* const argv[], char* const envp[], int in_fd,
                            int out_fd, int err_fd, int report_fd, long max_fd) {
  setpgid(0, 0);  // its own group, so that a kill reaches anything it starts
  // The services block SIGTERM/SIGINT in every thread and sigwait for them, and may ignore
  // SIGPIPE; mask and ignored dispositions survive execve and would make the tool unkillable
  // or blind to a closed pipe.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);
  if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) {
    int err = errno;
    (void)!write(report_fd, &err, sizeof err);
    _exit(127);
  }
  // Nothing else of ours reaches the tool (the snapshot connection's socket in particular);
  // report_fd is closed by execve itself, which tells the parent the exec worked.
  if (syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) != 0) {
    for (long fd = 3; fd < max_fd; ++fd) fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
  }
  execve(path, argv, envp);
  int err = errno;
  (void)!write(report_fd, &err, sizeof err);
  _exit(127);
}

// Follows the tool's name: "pg_dump exited with status 1", "pg_dump was killed by signal 9 ...".
std::string ExitText(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "was " + process::DescribeWaitStatus(status);
  return "ended with " + process::DescribeWaitStatus(status);
}

struct Child {
  std::string name;  // "pg_dump", for messages
  pid_t pid = -1;
  Fd in;   // write end of its stdin (restore)
  Fd out;  // read end of its stdout (dump)
  Fd err;  // read end of its stderr (with stdout, for restore)

  ~Child() { Kill(); }  // every early return leaves nothing running
  int Wait() {
    if (pid <= 0) return -1;  // waitpid(-1) would reap someone else's child
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    pid = -1;
    return status;
  }
  void Kill() {
    if (pid <= 0) return;  // kill(-1) would signal every process we may signal
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    Wait();
  }
};

// Which way the data flows: out of pg_dump's stdout (its stdin is /dev/null), or into
// pg_restore's stdin (its stdout joins stderr). Stderr is always captured.
enum class DataPipe { kFromStdout, kToStdin };

// Starts `args` with PGPASSWORD set to `password` (when not empty).
grpc::Status Spawn(const std::vector<std::string>& args, const std::string& password, DataPipe data,
                   Child* child) {
  child->name = args[0].substr(args[0].rfind('/') + 1);
  // Everything the child needs is built before fork: it may not allocate.
  std::vector<std::string> env_strings = ToolEnvironment(environ, password);
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> arg_strings = args;
  std::vector<char*> argv;
  for (std::string& s : arg_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  long max_fd = sysconf(_SC_OPEN_MAX);
  if (max_fd < 0 || max_fd > 65536) max_fd = 65536;

  const std::string what = "cannot run " + args[0] + ": ";
  Fd child_in, child_out, err_write, report_read, report_write;
  bool piped = process::MakePipe(&child->err, &err_write) &&
               process::MakePipe(&report_read, &report_write);
  if (data == DataPipe::kToStdin) {
    piped = piped && process::MakePipe(&child_in, &child->in);
  } else {
    piped = piped && process::MakePipe(&child->out, &child_out);
    child_in.Reset(open("/dev/null", O_RDONLY | O_CLOEXEC));
    piped = piped && child_in.is_open() && process::MoveAboveStdio(&child_in);
  }
  if (!piped) return grpc::Status(grpc::StatusCode::INTERNAL, what + ErrnoText(errno));
  (void)fcntl(data == DataPipe::kToStdin ? child->in.get() : child->out.get(), F_SETPIPE_SZ, kDataPipeSize);
  int out_fd = data == DataPipe::kToStdin ? err_write.get() : child_out.get();

  pid_t pid = fork();
  if (pid < 0) return grpc::Status(grpc::StatusCode::INTERNAL, what + "fork: " + ErrnoText(errno));
  if (pid == 0) {
    ExecChild(argv[0], argv.data(), envp.data(), child_in.get(), out_fd, err_write.get(),
              report_write.get(), max_fd);
  }
  setpgid(pid, pid);  // also here: the parent may kill the group before the child ran setpgid
  child->pid = pid;
  child_in.Reset();
  child_out.Reset();
  err_write.Reset();
  report_write.Reset();
  int exec_errno = 0;
  ssize_t n;
  while ((n = read(report_read.get(), &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR) {
  }
  if (n > 0) {
    child->Wait();
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, what + ErrnoText(exec_errno));
  }
  return grpc::Status::OK;
}

// Reads what is there; closes fd at end of file or on an error.
void ReadInto(Fd* fd, BoundedText* text) {
  char buf[4096];
  ssize_t n = read(fd->get(), buf, sizeof buf);
  if (n > 0) {
    text->Append(buf, static_cast<size_t>(n));
  } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    fd->Reset();
  }
}

grpc::Status ToolFailed(const Child& child, int status, BoundedText* stderr_text,
                        const std::vector<std::string>& secrets) {
  std::string message = child.name + " " + ExitText(status);
  std::string text = Scrub(stderr_text->Text(), secrets);
  if (!text.empty()) message += ": " + text;
  return grpc::Status(grpc::StatusCode::INTERNAL, message);
}

// Streams pg_dump's stdout to the sink in full pieces while keeping its stderr.
grpc::Status StreamDump(Child* child, const ByteSink& sink, uint64_t* bytes, BoundedText* err) {
  std::vector<uint8_t> piece(kPieceSize);
  size_t filled = 0;
  auto deliver = [&]() -> grpc::Status {
    bool accepted = false;
    try {
      accepted = sink(piece.data(), filled);
    } catch (const std::exception&) {
      accepted = false;
    }
    if (!accepted) {
      child->Kill();
      return grpc::Status(grpc::StatusCode::ABORTED, "the backup stream refused data after " +
                                                         std::to_string(*bytes) +
                                                         " bytes; pg_dump was stopped");
    }
    *bytes += filled;
    filled = 0;
    return grpc::Status::OK;
  };
  while (child->out.is_open() || child->err.is_open()) {
    pollfd fds[2];
    nfds_t count = 0;
    if (child->out.is_open()) fds[count++] = {child->out.get(), POLLIN, 0};
    if (child->err.is_open()) fds[count++] = {child->err.get(), POLLIN, 0};
    if (poll(fds, count, -1) < 0) {
      if (errno == EINTR) continue;
      return grpc::Status(grpc::StatusCode::INTERNAL, "poll: " + ErrnoText(errno));
    }
    for (nfds_t i = 0; i < count; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == child->err.get()) {
        ReadInto(&child->err, err);
        continue;
      }
      ssize_t n = read(child->out.get(), piece.data() + filled, kPieceSize - filled);
      if (n > 0) {
        filled += static_cast<size_t>(n);
        if (filled == kPieceSize) {
          grpc::Status delivered = deliver();
          if (!delivered.ok()) return delivered;
        }
      } else if (n == 0) {
        child->out.Reset();
      } else if (errno != EINTR && errno != EAGAIN) {
        return grpc::Status(grpc::StatusCode::INTERNAL, "reading pg_dump: " + ErrnoText(errno));
      }
    }
  }
  return filled > 0 ? deliver() : grpc::Status::OK;
}

// Writing to a pg_restore that already exited raises SIGPIPE in the writing thread. Blocked for
// the duration of a restore and consumed afterwards, it cannot end a process that left SIGPIPE
// at its default.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &previous_);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~SigpipeBlock() {
    if (!was_pending_) {
      timespec zero{0, 0};
      while (sigtimedwait(&pipe_, nullptr, &zero) > 0) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }

 private:
  sigset_t pipe_;
  sigset_t previous_;
  bool was_pending_ = false;
};

// ---------------------------------------------------------------------------------------------
// SQL side.

grpc::Status FromException(const std::string& what, const std::exception& e,
                           const std::vector<std::string>& secrets) {
  grpc::StatusCode code = grpc::StatusCode::INTERNAL;
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
    code = grpc::StatusCode::UNAVAILABLE;
  } else if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string& state = sql->sqlstate();
    if (state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0) {
      code = grpc::StatusCode::UNAVAILABLE;  // connection exceptions, admin shutdown
    } else if (state == "42501" || state.rfind("28", 0) == 0) {
      code = grpc::StatusCode::PERMISSION_DENIED;
    } else if (state == "42P04") {
      code = grpc::StatusCode::ALREADY_EXISTS;
    } else if (state == "3D000") {
      code = grpc::StatusCode::NOT_FOUND;
    } else if (state == "55006") {
      code = grpc::StatusCode::FAILED_PRECONDITION;
    }
  }
  return grpc::Status(code, what + ": " + Scrub(Trim(e.what()), secrets));
}

// Every user table, ordinary and partitioned (their partitions are ordinary tables too), as
// pg_dump sees them; other sessions' temporary tables are neither dumped nor readable.
constexpr char kListTables[] =
    "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 'p') "
    "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%' "
    "ORDER BY 1, 2";

// Stops early, with the counts incomplete, once `*stop` is set.
void CountTables(pqxx::transaction_base& tx, std::map<std::string, long long>* out,
                 const std::atomic<bool>* stop = nullptr) {
  out->clear();
  pqxx::result tables = tx.exec(kListTables);
  for (const pqxx::row& row : tables) {
    if (stop != nullptr && stop->load()) return;
    std::string schema = row[0].as<std::string>();
    std::string table = row[1].as<std::string>();
    pqxx::row count =
        tx.exec1("SELECT count(*) FROM " + tx.quote_name(schema) + "." + tx.quote_name(table));
    (*out)[schema + "." + table] = count[0].as<long long>();
  }
}

using RepeatableReadOnly = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;

// CountTables on a thread of its own, on the snapshot's connection, which nothing else uses
// meanwhile. Finish() waits for it and throws what it threw; a count that was not waited for
// (the dump failed) is cancelled and joined, so it never outlives the transaction.
class BackgroundCount {
 public:
  BackgroundCount(pqxx::connection_base& conn, pqxx::transaction_base& tx,
                  std::map<std::string, long long>* out)
      : conn_(conn), thread_([this, &tx, out] {
          try {
            CountTables(tx, out, &stop_);
          } catch (...) {
            error_ = std::current_exception();
          }
        }) {}
  BackgroundCount(const BackgroundCount&) = delete;
  BackgroundCount& operator=(const BackgroundCount&) = delete;
  ~BackgroundCount() {
    if (!thread_.joinable()) return;
    stop_ = true;
    try {
      conn_.cancel_query();
    } catch (const std::exception&) {
      // Nothing to cancel, or the connection is gone: the count ends by itself either way.
    }
    thread_.join();
  }

  void Finish() {
    thread_.join();
    if (error_) std::rethrow_exception(error_);
  }

 private:
  pqxx::connection_base& conn_;
  std::atomic<bool> stop_{false};
  std::exception_ptr error_;
  std::thread thread_;  // last: it starts once the members it uses exist
};

bool ValidDatabaseName(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

grpc::Status InvalidName(const std::string& name) {
  std::string shown = name.size() > 80 ? name.substr(0, 80) + "..." : name;
  return grpc::Status(
      grpc::StatusCode::INVALID_ARGUMENT,
      "database name \"" + shown + "\" is invalid: use 1-63 lower-case letters, digits and '_'");
}

// A session on the server that is not inside `name` (a database cannot be dropped from
// within): the URL's own database, or "postgres" when the URL names `name` itself.
std::unique_ptr<pqxx::connection> MaintenanceConnection(const std::string& server_url,
                                                        const std::string& name) {
  auto conn = std::make_unique<pqxx::connection>(server_url);
  if (conn->dbname() == name) {
    conn = std::make_unique<pqxx::connection>(db::WithDatabase(server_url, "postgres"));
  }
  return conn;
}

// Runs fn against the server with the URL parsed (for scrubbing) and exceptions mapped.
template <typename Fn>
grpc::Status OnServer(const std::string& server_url, const std::string& what, Fn&& fn) {
  PgConnection connection;
  std::string error;
  if (!ParseConnection(server_url, &connection, &error)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "database_url: " + error);
  }
  try {
    return fn();
  } catch (const std::exception& e) {
    return FromException(what + " on " + db::RedactUrl(server_url), e, connection.secrets);
  }
}

}  // namespace

std::vector<std::string> ToolEnvironment(const char* const* inherited, const std::string& password) {
  auto is_passed_on = [](const std::string& entry) {
    const std::string name = entry.substr(0, entry.find('='));
    return name == "PATH" || name == "TZ" || name == "LANG" || name.rfind("LC_", 0) == 0;
  };
  std::vector<std::string> env;
  for (const char* const* e = inherited; e != nullptr && *e != nullptr; ++e) {
    if (is_passed_on(*e)) env.emplace_back(*e);
  }
  if (!password.empty()) env.push_back("PGPASSWORD=" + password);
  return env;
}

grpc::Status DumpDatabase(const std::string& database_url, const ByteSink& sink,
                          DumpManifest* manifest, const std::string& pg_dump_path) {
  if (manifest == nullptr || !sink) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "DumpDatabase needs a sink and a manifest");
  }
  *manifest = DumpManifest{};
  PgConnection connection;
  std::string error;
  if (!ParseConnection(database_url, &connection, &error)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "database_url: " + error);
  }
  const std::string where = db::RedactUrl(database_url);
  std::string stage = "cannot connect to " + where;
  try {
    pqxx::connection conn(database_url);
    stage = "cannot take a snapshot of " + where;
    RepeatableReadOnly tx(conn);
    // The snapshot has to outlive the whole pg_dump run, however long a server lets sessions
    // sit idle in a transaction.
    tx.exec0("SET LOCAL idle_in_transaction_session_timeout = 0");
    pqxx::row snapshot = tx.exec1(
        "SELECT pg_export_snapshot(), (extract(epoch FROM now()) * 1000000)::bigint, "
        "current_setting('server_version')");
    manifest->snapshot_id = snapshot[0].as<std::string>();
    manifest->snapshot_time = std::chrono::system_clock::time_point(
        std::chrono::microseconds(snapshot[1].as<long long>()));
    manifest->server_version = snapshot[2].as<std::string>();

    Child child;
    grpc::Status started = Spawn({pg_dump_path, "--snapshot=" + manifest->snapshot_id, "-Fc", "-Z0",
                                  "--no-password", "--dbname=" + connection.conninfo},
                                 connection.password, DataPipe::kFromStdout, &child);
    if (!started.ok()) return started;
    // The rows are counted while pg_dump runs, in the snapshot it reads: counting first (a scan
    // of every table) added its whole time to every backup.
    BackgroundCount count(conn, tx, &manifest->row_counts);
    BoundedText stderr_text;
    grpc::Status streamed = StreamDump(&child, sink, &manifest->bytes_dumped, &stderr_text);
    if (!streamed.ok()) return streamed;
    int status = child.Wait();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      return ToolFailed(child, status, &stderr_text, connection.secrets);
    }
    stage = "cannot count the rows of " + where;
    count.Finish();
    // pg_dump holds its own copy of the snapshot once started, so this commit only ends ours;
    // a failure still means the source connection broke mid-run, which deserves a look.
    stage = "the snapshot connection to " + where + " failed during pg_dump";
    tx.commit();
    return grpc::Status::OK;
  } catch (const std::exception& e) {
    return FromException(stage, e, connection.secrets);
  }
}

grpc::Status RestoreDatabase(const std::string& database_url, const ByteSource& source,
                             const std::string& pg_restore_path) {
  if (!source)
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "RestoreDatabase needs a source");
  PgConnection connection;
  std::string error;
  if (!ParseConnection(database_url, &connection, &error)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "database_url: " + error);
  }
  SigpipeBlock sigpipe_block;
  Child child;
  grpc::Status started = Spawn({pg_restore_path, "--no-owner", "--no-privileges", "--exit-on-error",
                                "--no-password", "--dbname=" + connection.conninfo},
                               connection.password, DataPipe::kToStdin, &child);
  if (!started.ok()) return started;
  if (fcntl(child.in.get(), F_SETFL, O_NONBLOCK) != 0) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "fcntl: " + ErrnoText(errno));
  }
  std::vector<uint8_t> buffer(kPieceSize);
  size_t pending = 0;
  size_t offset = 0;
  uint64_t fed = 0;
  bool source_done = false;
  bool stopped_reading = false;  // pg_restore closed its stdin before the end
  BoundedText stderr_text;
  while (child.in.is_open() || child.err.is_open()) {
    if (child.in.is_open() && pending == offset && !source_done) {
      long long n = -1;
      try {
        n = source(buffer.data(), buffer.size());
      } catch (const std::exception&) {
        n = -1;
      }
      if (n < 0 || static_cast<unsigned long long>(n) > buffer.size()) {
        child.Kill();
        return grpc::Status(grpc::StatusCode::ABORTED, "reading the backup failed after " +
                                                           std::to_string(fed) +
                                                           " bytes; pg_restore was stopped");
      }
      pending = static_cast<size_t>(n);
      offset = 0;
      if (n == 0) {
        source_done = true;
        child.in.Reset();  // end of input for pg_restore
      }
    }
    pollfd fds[2];
    nfds_t count = 0;
    if (child.in.is_open()) fds[count++] = {child.in.get(), POLLOUT, 0};
    if (child.err.is_open()) fds[count++] = {child.err.get(), POLLIN, 0};
    if (poll(fds, count, -1) < 0) {
      if (errno == EINTR) continue;
      return grpc::Status(grpc::StatusCode::INTERNAL, "poll: " + ErrnoText(errno));
    }
    for (nfds_t i = 0; i < count; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == child.err.get()) {
        ReadInto(&child.err, &stderr_text);
        continue;
      }
      ssize_t n = write(child.in.get(), buffer.data() + offset, pending - offset);
      if (n >= 0) {
        offset += static_cast<size_t>(n);
        fed += static_cast<uint64_t>(n);
      } else if (errno != EINTR && errno != EAGAIN) {
        // EPIPE: pg_restore exited (its error comes from stderr and the exit status below).
        stopped_reading = true;
        child.in.Reset();
      }
    }
  }
  int status = child.Wait();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return ToolFailed(child, status, &stderr_text, connection.secrets);
  }
  if (stopped_reading) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "pg_restore stopped reading after " +
                                                        std::to_string(fed) +
                                                        " bytes of the backup without an error");
  }
  return grpc::Status::OK;
}

grpc::Status CountRows(const std::string& database_url, std::map<std::string, long long>* out) {
  if (out == nullptr)
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "CountRows needs an output");
  return OnServer(database_url, "cannot count rows", [&] {
    pqxx::connection conn(database_url);
    RepeatableReadOnly tx(conn);  // one snapshot for all tables
    CountTables(tx, out);
    tx.commit();
    return grpc::Status::OK;
  });
}

grpc::Status CreateDatabase(const std::string& server_url, const std::string& name) {
  if (!ValidDatabaseName(name)) return InvalidName(name);
  return OnServer(server_url, "cannot create database " + name, [&] {
    auto conn = MaintenanceConnection(server_url, name);
    pqxx::nontransaction tx(*conn);
    // template0: objects someone added to template1 would collide with a restored dump.
    tx.exec0("CREATE DATABASE " + tx.quote_name(name) + " TEMPLATE template0");
    return grpc::Status::OK;
  });
}

grpc::Status DropDatabase(const std::string& server_url, const std::string& name) {
  if (!ValidDatabaseName(name)) return InvalidName(name);
  if (name == "postgres" || name == "template0" || name == "template1") {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "refusing to drop the system database " + name);
  }
  return OnServer(server_url, "cannot drop database " + name, [&] {
    auto conn = MaintenanceConnection(server_url, name);
    pqxx::nontransaction tx(*conn);
    tx.exec0("DROP DATABASE " + tx.quote_name(name) + " WITH (FORCE)");
    return grpc::Status::OK;
  });
}

grpc::Status DatabaseExists(const std::string& server_url, const std::string& name, bool* exists) {
  if (exists == nullptr)
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "DatabaseExists needs an output");
  if (!ValidDatabaseName(name)) return InvalidName(name);
  return OnServer(server_url, "cannot look up database " + name, [&] {
    pqxx::connection conn(server_url);
    pqxx::nontransaction tx(conn);
    *exists =
        !tx.exec_params("SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1", name).empty();
    return grpc::Status::OK;
  });
}

}  // namespace flightdeck::backups
