#include "serving/python_model.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/json.h"
#include "core/log.h"

extern char** environ;  // NOLINT(readability-redundant-declaration): unistd.h declares it only with
                        // _GNU_SOURCE

namespace cairn::serving {

namespace {

// The worker: loads the model with the user's MLflow and answers framed
// requests on fd 3 until the socket closes (see the header for the framing).
constexpr char kWorkerScript[] = R"py(
import json, socket, struct, sys, traceback
sock = socket.socket(fileno=3)

def send(header, body=b""):
    h = json.dumps(header).encode()
    sock.sendall(struct.pack("<QI", 4 + len(h) + len(body), len(h)) + h + body)

def recv_exact(n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            raise EOFError
        buf += chunk
    return bytes(buf)

try:
    import numpy as np
    import pandas as pd
    import mlflow.pyfunc
    model = mlflow.pyfunc.load_model(sys.argv[1])
    schema = model.metadata.get_input_schema()
    columns = []
    if schema is not None and not schema.is_tensor_spec() and schema.has_input_names():
        columns = schema.input_names()
except BaseException:
    send({"error": traceback.format_exc(limit=4)})
    sys.exit(1)
send({"ready": True, "columns": columns})

TYPES = {"BOOL": "?", "UINT8": "<u1", "UINT16": "<u2", "UINT32": "<u4", "UINT64": "<u8",
         "INT8": "<i1", "INT16": "<i2", "INT32": "<i4", "INT64": "<i8", "FP16": "<f2",
         "FP32": "<f4", "FP64": "<f8"}

def decode(header, body):
    arrays, off = [], 0
    for t in header["inputs"]:
        shape = t["shape"]
        count = 1
        for d in shape:
            count *= d
        if t["datatype"] == "BYTES":
            items = []
            for _ in range(count):
                n, = struct.unpack_from("<I", body, off)
                items.append(bytes(body[off + 4:off + 4 + n]).decode("utf-8", "replace"))
                off += 4 + n
            a = np.array(items, dtype=object).reshape(shape)
        else:
            dt = np.dtype(TYPES[t["datatype"]])
            a = np.frombuffer(body, dtype=dt, count=count, offset=off).reshape(shape)
            off += count * dt.itemsize
        arrays.append((t["name"], a))
    return arrays

def model_input(arrays):
    # As MLflow's scoring server hands rows to a model with a column signature.
    if columns and len(arrays) == 1 and arrays[0][1].ndim == 2 \
            and arrays[0][1].shape[1] == len(columns):
        return pd.DataFrame(arrays[0][1], columns=columns)
    if all(a.ndim == 1 for _, a in arrays) and (columns or len(arrays) > 1):
        return pd.DataFrame({n: a for n, a in arrays})
    if len(arrays) == 1:
        return arrays[0][1]
    return {n: a for n, a in arrays}

def encode(result):
    if isinstance(result, pd.DataFrame):
        items = [(str(c), result[c].to_numpy()) for c in result.columns]
    elif isinstance(result, pd.Series):
        items = [("predictions", result.to_numpy())]
    elif isinstance(result, dict):
        items = [(str(k), np.asarray(v)) for k, v in result.items()]
    else:
        items = [("predictions", np.asarray(result))]
    specs, body = [], bytearray()
    for name, a in items:
        k, size = a.dtype.kind, a.dtype.itemsize
        if k == "b":
            dt, a = "BOOL", a.astype("?")
        elif k == "f":
            dt, a = ("FP64", a.astype("<f8")) if size == 8 else ("FP32", a.astype("<f4"))
        elif k in "iu" and size in (1, 2, 4, 8):
            dt = ("INT" if k == "i" else "UINT") + str(size * 8)
            a = a.astype(("<i" if k == "i" else "<u") + str(size))
        else:
            dt = "BYTES"
        specs.append({"name": name, "datatype": dt, "shape": list(a.shape)})
        if dt == "BYTES":
            for x in a.reshape(-1):
                b = x if isinstance(x, bytes) else str(x).encode()
                body += struct.pack("<I", len(b)) + b
        else:
            body += np.ascontiguousarray(a).tobytes()
    return specs, bytes(body)

while True:
    try:
        n, = struct.unpack("<Q", recv_exact(8))
        data = recv_exact(n)
    except EOFError:
        sys.exit(0)
    hl, = struct.unpack_from("<I", data, 0)
    try:
        arrays = decode(json.loads(data[4:4 + hl]), memoryview(data)[4 + hl:])
        specs, body = encode(model.predict(model_input(arrays)))
        send({"outputs": specs}, body)
    except Exception as e:
        bad = isinstance(e, (ValueError, KeyError, TypeError)) or \
            getattr(e, "error_code", "") in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST")
        send({"error": f"{type(e).__name__}: {e}", "bad_input": bad})
)py";

// Loading a model (importing MLflow, unpickling) may take a while.
constexpr int64_t kLoadTimeoutNanos = 180'000'000'000;
// A reply larger than this is refused (and the worker restarted).
constexpr uint64_t kMaxReplyBytes = 1ull << 30;

void AppendU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void AppendU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t ReadU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

Status SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return Unavailable(std::string("the worker's socket closed: ") + std::strerror(errno));
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// Reads exactly `n` bytes before `deadline` (MonotonicNanos). Errors:
// ResourceExhausted when time ran out; Unavailable when the worker closed
// its end.
Status RecvAll(int fd, char* out, size_t n, int64_t deadline, Env* env) {
  while (n > 0) {
    const int64_t left = deadline - env->MonotonicNanos();
    if (left <= 0) return ResourceExhausted("no answer in time");
    pollfd p{fd, POLLIN, 0};
    const int ready =
        ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left / 1'000'000 + 1, 60'000)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) continue;
    const ssize_t got = ::recv(fd, out, n, 0);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) return Unavailable("the worker closed its socket");
    out += got;
    n -= static_cast<size_t>(got);
  }
  return Status::Ok();
}

struct Reply {
  json::Document header;
  std::string body;
};

StatusOr<Reply> ParseReply(std::string data) {
  if (data.size() < 4) return Unavailable("the worker's reply is cut off");
  uint32_t header_length = 0;
  for (int i = 3; i >= 0; --i) {
    header_length = (header_length << 8) | static_cast<unsigned char>(data[static_cast<size_t>(i)]);
  }
  if (header_length > data.size() - 4) return Unavailable("the worker's reply header is cut off");
  Reply reply;
  if (Status parsed = json::Parse(std::string_view(data).substr(4, header_length), &reply.header);
      !parsed.ok() || !reply.header.IsObject()) {
    return Unavailable("the worker's reply header is not a JSON object");
  }
  reply.body = data.substr(4 + header_length);
  return reply;
}

StatusOr<Reply> ReadReply(int fd, int64_t deadline, Env* env) {
  char length[8];
  RETURN_IF_ERROR(RecvAll(fd, length, 8, deadline, env));
  const uint64_t total = ReadU64(length);
  if (total < 4 || total > kMaxReplyBytes) {
    return Unavailable("the worker sent a reply of " + std::to_string(total) + " bytes");
  }
  std::string data(total, '\0');
  RETURN_IF_ERROR(RecvAll(fd, data.data(), total, deadline, env));
  return ParseReply(std::move(data));
}

std::string StringMember(const json::Value& object, const char* key) {
  auto it = object.FindMember(key);
  if (it == object.MemberEnd() || !it->value.IsString()) return "";
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

// The request's frame: its tensors' names, types and shapes in the
// header, their elements after it.
std::string RequestFrame(const std::vector<Tensor>& inputs) {
  std::string header = "{\"inputs\":[";
  std::string body;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    if (i) header += ',';
    header += "{\"name\":";
    json::AppendString(header, t.name);
    header += ",\"datatype\":\"";
    header += DataTypeName(t.datatype);
    header += "\",\"shape\":[";
    for (size_t d = 0; d < t.shape.size(); ++d) {
      if (d) header += ',';
      json::AppendInt(header, t.shape[d]);
    }
    header += "]}";
    if (t.datatype == DataType::kBytes) {
      for (const std::string& e : t.bytes) {
        AppendU32(body, static_cast<uint32_t>(e.size()));
        body += e;
      }
    } else {
      body += t.data;
    }
  }
  header += "]}";
  std::string frame;
  AppendU64(frame, 4 + header.size() + body.size());
  AppendU32(frame, static_cast<uint32_t>(header.size()));
  frame += header;
  frame += body;
  return frame;
}

// The tensors a worker answered with. Errors: Unavailable for a reply that
// does not read (the worker is then restarted).
StatusOr<std::vector<Tensor>> DecodeOutputs(const Reply& reply) {
  auto outputs = reply.header.FindMember("outputs");
  if (outputs == reply.header.MemberEnd() || !outputs->value.IsArray()) {
    return Unavailable("the worker's reply names no outputs");
  }
  std::vector<Tensor> out;
  size_t offset = 0;
  const std::string& body = reply.body;
  for (const json::Value& spec : outputs->value.GetArray()) {
    if (!spec.IsObject()) return Unavailable("the worker's output spec is not an object");
    Tensor t;
    t.name = StringMember(spec, "name");
    std::optional<DataType> type = ParseDataType(StringMember(spec, "datatype"));
    if (!type) return Unavailable("the worker answered an unknown datatype");
    t.datatype = *type;
    auto shape = spec.FindMember("shape");
    if (shape == spec.MemberEnd() || !shape->value.IsArray()) {
      return Unavailable("the worker's output has no shape");
    }
    for (const json::Value& d : shape->value.GetArray()) {
      if (!d.IsInt64() || d.GetInt64() < 0) return Unavailable("the worker's output shape is bad");
      t.shape.push_back(d.GetInt64());
    }
    std::optional<size_t> count = t.ElementCount();
    if (!count) return Unavailable("the worker's output shape overflows");
    if (t.datatype == DataType::kBytes) {
      for (size_t i = 0; i < *count; ++i) {
        if (body.size() - offset < 4) return Unavailable("the worker's BYTES output is cut off");
        uint32_t n = 0;
        for (int b = 3; b >= 0; --b) {
          n = (n << 8) | static_cast<unsigned char>(body[offset + static_cast<size_t>(b)]);
        }
        offset += 4;
        if (body.size() - offset < n) return Unavailable("the worker's BYTES output is cut off");
        t.bytes.emplace_back(body.substr(offset, n));
        offset += n;
      }
    } else {
      const size_t bytes = *count * ElementSize(t.datatype);
      if (body.size() - offset < bytes) return Unavailable("the worker's output data is cut off");
      t.data = body.substr(offset, bytes);
      offset += bytes;
    }
    out.push_back(std::move(t));
  }
  return out;
}

// The workers' PYTHONPATH: the deployment's folders, in order.
std::string PythonPath(const PythonSettings& settings) {
  std::string path;
  for (const std::string& p : settings.path) path += (path.empty() ? "" : ":") + p;
  return path;
}

// The last lines of a Python traceback: what went wrong, without the frames.
std::string Tail(const std::string& text, size_t lines) {
  size_t end = text.find_last_not_of("\n ");
  if (end == std::string::npos) return text;
  size_t start = end + 1;
  for (size_t i = 0; i < lines && start > 0; ++i) {
    start = text.rfind('\n', start - 1);
    if (start == std::string::npos) {
      start = 0;
      break;
    }
  }
  std::string tail =
      text.substr(start == 0 ? 0 : start + 1, end + 1 - (start == 0 ? 0 : start + 1));
  for (char& c : tail) c = c == '\n' ? ' ' : c;
  return tail;
}

// What a reply says: the outputs, or the model's error (InvalidArgument
// for bad input, Internal otherwise, as is a reply that does not decode).
StatusOr<std::vector<Tensor>> Answer(const Reply& reply) {
  if (std::string error = StringMember(reply.header, "error"); !error.empty()) {
    auto bad = reply.header.FindMember("bad_input");
    const bool bad_input =
        bad != reply.header.MemberEnd() && bad->value.IsBool() && bad->value.GetBool();
    return bad_input ? InvalidArgument(error) : Internal("the model failed: " + error);
  }
  StatusOr<std::vector<Tensor>> outputs = DecodeOutputs(reply);
  if (!outputs.ok()) return Internal(outputs.status().message());
  return outputs;
}

}  // namespace

StatusOr<std::vector<Tensor>> DecodeWorkerReply(std::string message) {
  StatusOr<Reply> reply = ParseReply(std::move(message));
  if (!reply.ok()) return Internal(reply.status().message());
  return Answer(*reply);
}

PythonModel::PythonModel(const PythonSettings& settings, std::string local_dir, bool owns_dir,
                         Env* env)
    : settings_(settings), dir_(std::move(local_dir)), owns_dir_(owns_dir), env_(env) {
  metadata_.platform = "cairn_python";
  metadata_.outputs.push_back({"predictions", DataType::kFp64, {-1}});
}

StatusOr<std::unique_ptr<PythonModel>> PythonModel::Start(const PythonSettings& settings,
                                                          std::string local_dir, bool owns_dir,
                                                          Env* env) {
  std::unique_ptr<PythonModel> model(
      new PythonModel(settings, std::move(local_dir), owns_dir, env));
  const int count = std::max(1, settings.workers);
  for (int i = 0; i < count; ++i) model->workers_.push_back(std::make_unique<Worker>());
  {
    MutexLock lock(&model->mu_);
    model->busy_.assign(static_cast<size_t>(count), false);
  }
  // Every worker loads the same folder: the first one's signature stands.
  for (const auto& w : model->workers_) {
    RETURN_IF_ERROR(
        model->StartWorker(*w, w == model->workers_.front() ? &model->columns_ : nullptr));
  }
  model->metadata_.feature_names = model->columns_;
  for (const std::string& c : model->columns_) {
    model->metadata_.inputs.push_back({c, DataType::kFp64, {-1}});
  }
  return model;
}

PythonModel::~PythonModel() {
  for (const auto& w : workers_) {
    if (w->pid.load() != 0) StopWorker(*w);
  }
  if (owns_dir_) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

Status PythonModel::StartWorker(Worker& w, std::vector<std::string>* columns_out) const {
  RETURN_IF_ERROR(SpawnWorker(w));
  return AwaitLoaded(w, columns_out);
}

Status PythonModel::SpawnWorker(Worker& w) const {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return Unavailable(std::string("no socket for a python worker: ") + std::strerror(errno));
  }
  // The worker's end goes to fd 3; dup2 onto itself would keep close-on-exec.
  if (sv[1] == 3) {
    const int moved = ::fcntl(sv[1], F_DUPFD_CLOEXEC, 4);
    ::close(sv[1]);
    sv[1] = moved;
  }
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (entry.starts_with("PYTHONPATH=") || entry.starts_with("PYTHONHOME=")) continue;
    env_strings.emplace_back(entry);
  }
  env_strings.push_back("PYTHONPATH=" + PythonPath(settings_));
  env_strings.emplace_back("PYTHONUNBUFFERED=1");
  env_strings.emplace_back("PYTHONDONTWRITEBYTECODE=1");
  env_strings.emplace_back("MLFLOW_DISABLE_TELEMETRY=true");
  env_strings.emplace_back("GIT_PYTHON_REFRESH=quiet");
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string interpreter = settings_.interpreter;
  std::string dash_c = "-c";
  std::string script = kWorkerScript;
  std::string dir = dir_;
  std::vector<char*> argv = {interpreter.data(), dash_c.data(), script.data(), dir.data(), nullptr};

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, sv[1], 3);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  // Whatever the model prints goes to the server's log, never the socket.
  posix_spawn_file_actions_adddup2(&actions, 2, 1);
  pid_t pid = 0;
  const int spawned =
      ::posix_spawn(&pid, interpreter.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(sv[1]);
  if (spawned != 0) {
    ::close(sv[0]);
    return Unavailable("cannot start the python interpreter '" + settings_.interpreter +
                       "': " + std::strerror(spawned));
  }
  w.fd = sv[0];
  w.pid.store(pid);
  return Status::Ok();
}

Status PythonModel::AwaitLoaded(Worker& w, std::vector<std::string>* columns_out) const {
  StatusOr<Reply> hello = ReadReply(w.fd, env_->MonotonicNanos() + kLoadTimeoutNanos, env_);
  if (!hello.ok()) {
    const std::string how = StopWorker(w);
    return InvalidArgument("the python worker (" + settings_.interpreter + ") " + how +
                           " before the model loaded; its output is in the server's log");
  }
  if (std::string error = StringMember(hello->header, "error"); !error.empty()) {
    StopWorker(w);
    const std::string pythonpath = PythonPath(settings_);
    return InvalidArgument("the model did not load in python (" + settings_.interpreter +
                           ", PYTHONPATH " + (pythonpath.empty() ? "unset" : pythonpath) +
                           "): " + Tail(error, 2));
  }
  std::vector<std::string> columns;
  if (auto c = hello->header.FindMember("columns");
      c != hello->header.MemberEnd() && c->value.IsArray()) {
    for (const json::Value& name : c->value.GetArray()) {
      if (name.IsString()) columns.emplace_back(name.GetString(), name.GetStringLength());
    }
  }
  if (columns_out != nullptr) *columns_out = std::move(columns);
  return Status::Ok();
}

std::string PythonModel::StopWorker(Worker& w) const {
  const int pid = w.pid.exchange(0);
  if (w.fd >= 0) ::close(w.fd);
  w.fd = -1;
  if (pid == 0) return "was not running";
  int status = 0;
  // A worker that already ended reports how; one still running is stopped.
  pid_t done = ::waitpid(pid, &status, WNOHANG);
  bool killed_here = false;
  if (done == 0) {
    ::kill(pid, SIGKILL);
    killed_here = true;
    done = ::waitpid(pid, &status, 0);
  }
  if (done != pid) return "ended";
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return killed_here ? "was stopped" : "was killed by signal " + std::to_string(WTERMSIG(status));
  }
  return "ended";
}

StatusOr<PythonModel::Worker*> PythonModel::Acquire() const {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(settings_.timeout_ms);
  MutexLock lock(&mu_);
  while (true) {
    for (size_t i = 0; i < busy_.size(); ++i) {
      if (!busy_[i]) {
        busy_[i] = true;
        return workers_[i].get();
      }
    }
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::nanoseconds(0)) {
      return Unavailable("all " + std::to_string(busy_.size()) +
                         " python workers stayed busy for python.timeout_ms (" +
                         std::to_string(settings_.timeout_ms) +
                         " ms); add workers or batching, or send less");
    }
    free_.WaitFor(left);
  }
}

void PythonModel::Release(Worker* w) const {
  MutexLock lock(&mu_);
  for (size_t i = 0; i < workers_.size(); ++i) {
    if (workers_[i].get() == w) busy_[i] = false;
  }
  free_.Signal();
}

StatusOr<std::vector<Tensor>> PythonModel::Predict(const std::vector<Tensor>& inputs) const {
  ASSIGN_OR_RETURN(Worker * w, Acquire());
  if (w->pid.load() == 0) {
    // Ended earlier (crashed, timed out): started again for this request.
    if (Status started = StartWorker(*w, nullptr); !started.ok()) {
      Release(w);
      return Unavailable("a python worker could not be started again: " + started.message());
    }
  }
  const int64_t deadline = env_->MonotonicNanos() + settings_.timeout_ms * 1'000'000;
  Status sent = SendAll(w->fd, RequestFrame(inputs));
  StatusOr<Reply> reply = sent.ok() ? ReadReply(w->fd, deadline, env_) : StatusOr<Reply>(sent);
  if (!reply.ok()) {
    const bool late = reply.status().code() == StatusCode::kResourceExhausted;
    const std::string how = StopWorker(*w);
    Release(w);
    LogWarn("a python worker failed a request; it is started again for the next one",
            {{"worker", how}, {"error", reply.status().message()}});
    return Unavailable(late ? "the python worker did not answer within python.timeout_ms (" +
                                  std::to_string(settings_.timeout_ms) +
                                  " ms) and was stopped; it is started again for the next request"
                            : "the python worker " + how + " while answering (" +
                                  reply.status().message() +
                                  "); it is started again for the next request");
  }
  Release(w);
  return Answer(*reply);
}

size_t PythonModel::MemoryBytes() const {
  size_t bytes = 0;
  const long page = ::sysconf(_SC_PAGESIZE);
  for (const auto& w : workers_) {
    const int pid = w->pid.load();
    if (pid == 0) continue;
    std::ifstream statm("/proc/" + std::to_string(pid) + "/statm");
    uint64_t size = 0;
    uint64_t resident = 0;
    if (statm >> size >> resident) bytes += resident * static_cast<uint64_t>(page);
  }
  return bytes;
}

std::vector<int> PythonModel::worker_pids() const {
  std::vector<int> pids;
  for (const auto& w : workers_) pids.push_back(w->pid.load());
  return pids;
}

}  // namespace cairn::serving
