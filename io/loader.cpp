// The input pipeline (see loader.h).
#include "io/loader.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

#include "core/buffer.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/random.h"
#include "io/image_codec.h"

namespace alexnet {

Shuffle parse_shuffle(const std::string& s) {
  if (s == "global") return Shuffle::global;
  if (s == "shard") return Shuffle::shard;
  throw Error("unknown shuffle mode '" + s + "' (expected global or shard)");
}

namespace {

// A seeded Fisher-Yates permutation of [0, n).
std::vector<int64_t> permutation(int64_t n, uint64_t seed) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) p[static_cast<size_t>(i)] = i;
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(mix64(seed ^ mix64(static_cast<uint64_t>(i))) % static_cast<uint64_t>(i + 1));
    std::swap(p[static_cast<size_t>(i)], p[static_cast<size_t>(j)]);
  }
  return p;
}

}  // namespace

struct Loader::State {
  std::shared_ptr<const ShardReader> reader;
  LoaderOptions o;
  int64_t n = 0, global_batch = 0;

  // Orders, computed per epoch and cached.
  mutable std::mutex order_m;
  mutable std::map<int64_t, std::shared_ptr<const std::vector<int64_t>>> perms;  // global: epoch -> order
  mutable std::map<std::pair<int, int64_t>, std::shared_ptr<const std::vector<int64_t>>> streams;  // shard mode
  std::shared_ptr<const std::vector<int64_t>> perm(int64_t epoch) const;
  std::shared_ptr<const std::vector<int64_t>> rank_stream(int rank, int64_t epoch) const;
  int64_t sample_at(int64_t step, int rank, int64_t i) const;

  // The ring of batch buffers.
  struct Slot {
    OwnedTensor images, labels;
    Batch batch;
    enum { free, filling, ready } state = free;
  };
  std::vector<std::unique_ptr<Slot>> slots;
  std::mutex m;
  std::condition_variable cv;
  int64_t produce_next = 0, consume_next = 0;
  Slot* delivered = nullptr;
  bool stop = false;
  std::exception_ptr error;
  LoaderStats stats;
  std::vector<std::thread> workers;
  Batch end_of_pass;

  void work(int thread);
  void fill(Slot& s, int64_t step, LoaderStats* st);
};

std::shared_ptr<const std::vector<int64_t>> Loader::State::perm(int64_t epoch) const {
  std::lock_guard<std::mutex> lock(order_m);
  auto it = perms.find(epoch);
  if (it != perms.end()) return it->second;
  auto p = std::make_shared<const std::vector<int64_t>>(
      permutation(n, mix64(o.seed ^ mix64(0x9e7 + static_cast<uint64_t>(epoch)))));
  if (perms.size() > 2) perms.erase(perms.begin());
  perms[epoch] = p;
  return p;
}

std::shared_ptr<const std::vector<int64_t>> Loader::State::rank_stream(int rank, int64_t epoch) const {
  std::lock_guard<std::mutex> lock(order_m);
  auto key = std::make_pair(rank, epoch);
  auto it = streams.find(key);
  if (it != streams.end()) return it->second;
  const ShardIndex& ix = reader->index();
  const auto shard_order =
      permutation(static_cast<int64_t>(ix.shards.size()), mix64(o.seed ^ mix64(0x5a4d + static_cast<uint64_t>(epoch))));
  std::vector<int64_t> seq;
  for (size_t k = static_cast<size_t>(rank); k < shard_order.size(); k += static_cast<size_t>(o.ranks)) {
    const auto s = static_cast<size_t>(shard_order[k]);
    const int64_t first = ix.first_of(s);
    for (int64_t j = 0; j < ix.counts[s]; ++j) seq.push_back(first + j);
  }
  // A shuffle buffer over the sequential stream: fill it, then each new sample replaces (and emits)
  // a random one; drain at the end.
  std::vector<int64_t> out, buf;
  uint64_t h = mix64(o.seed ^ mix64(0xb0f + static_cast<uint64_t>(epoch) * 131 + static_cast<uint64_t>(rank)));
  for (int64_t x : seq) {
    if (static_cast<int64_t>(buf.size()) < o.shuffle_buffer) {
      buf.push_back(x);
      continue;
    }
    h = mix64(h);
    const size_t j = h % buf.size();
    out.push_back(buf[j]);
    buf[j] = x;
  }
  while (!buf.empty()) {
    h = mix64(h);
    const size_t j = h % buf.size();
    out.push_back(buf[j]);
    buf[j] = buf.back();
    buf.pop_back();
  }
  auto p = std::make_shared<const std::vector<int64_t>>(std::move(out));
  if (streams.size() > 8) streams.erase(streams.begin());
  streams[key] = p;
  return p;
}

int64_t Loader::State::sample_at(int64_t step, int rank, int64_t i) const {
  if (!o.train) {
    const int64_t p = step * global_batch + rank * o.batch + i;
    return p < n ? p : -1;
  }
  if (o.shuffle == Shuffle::global) {
    const int64_t p = o.start + step * global_batch + rank * o.batch + i;
    return (*perm(p / n))[static_cast<size_t>(p % n)];
  }
  // Shard mode: the rank's own stream, epoch after epoch.
  int64_t q = o.start / o.ranks + step * o.batch + i;
  for (int64_t epoch = 0;; ++epoch) {
    const auto s = rank_stream(rank, epoch);
    if (s->empty())
      throw Error("--shuffle shard: rank " + std::to_string(rank) + " gets no shard (fewer shards than ranks)");
    if (q < static_cast<int64_t>(s->size())) return (*s)[static_cast<size_t>(q)];
    q -= static_cast<int64_t>(s->size());
  }
}

void Loader::State::fill(Slot& slot, int64_t step, LoaderStats* st) {
  const ShardIndex& ix = reader->index();
  const int64_t S = ix.image_size, C = o.crop, b = o.batch;
  const Tensor& img = slot.images.view;
  float* out = img.f32();
  int32_t* lab = slot.labels->i32();
  std::vector<uint8_t> bytes;
  int64_t valid = 0;
  for (int64_t i = 0; i < b; ++i) {
    const int64_t sample = sample_at(step, o.rank, i);
    if (sample < 0) {  // evaluation padding
      lab[i] = 0;
      for (int64_t c = 0; c < 3; ++c)
        for (int64_t y = 0; y < C; ++y)
          for (int64_t x = 0; x < C; ++x) out[offset4(img.shape, img.layout, i, c, y, x)] = 0.f;
      continue;
    }
    ++valid;
    const double t0 = now_seconds();
    reader->read(sample, &bytes);
    const double t1 = now_seconds();
    const uint8_t* px = bytes.data();
    RgbImage decoded;
    if (ix.encoding == Encoding::jpeg) {
      decoded = decode_image(bytes.data(), bytes.size(), "sample " + std::to_string(sample) + " of " + ix.dir);
      if (decoded.width != S || decoded.height != S)
        throw Error("sample " + std::to_string(sample) + " of " + ix.dir + " decodes to " +
                    std::to_string(decoded.width) + "x" + std::to_string(decoded.height) + ", the index says " +
                    std::to_string(S));
      px = decoded.pixels.data();
    }
    const double t2 = now_seconds();
    lab[i] = reader->label(sample);
    // Crop window, flip, lighting.
    int64_t x0 = (S - C) / 2, y0 = (S - C) / 2;
    bool flip = false;
    float shift[3] = {0, 0, 0};
    const uint64_t pos = static_cast<uint64_t>(o.start + step * global_batch + o.rank * o.batch + i);
    if (o.train && o.augment) {
      const uint64_t h = mix64(o.augment_seed ^ mix64(pos * 4 + 1));
      x0 = static_cast<int64_t>(h % static_cast<uint64_t>(S - C + 1));
      y0 = static_cast<int64_t>((h >> 20) % static_cast<uint64_t>(S - C + 1));
      flip = (h >> 60) & 1;
      for (int k = 0; k < 3; ++k) {
        const double alpha = o.pca_std * hashed_normal(o.augment_seed ^ 0x11697, pos * 3 + static_cast<uint64_t>(k));
        for (int c = 0; c < 3; ++c) shift[c] += static_cast<float>(ix.eigvec[3 * c + k] * alpha * ix.eigval[k] / 255.0);
      }
    } else if (o.view >= 0) {
      const int v = o.view % 5;
      x0 = v == 0 || v == 2 ? 0 : v == 4 ? (S - C) / 2 : S - C;
      y0 = v == 0 || v == 1 ? 0 : v == 4 ? (S - C) / 2 : S - C;
      flip = o.view >= 5;
    }
    float add[3];
    for (int c = 0; c < 3; ++c) add[c] = shift[c] - ix.mean[c];
    const Shape& sh = img.shape;
    for (int64_t y = 0; y < C; ++y) {
      const uint8_t* row = px + ((y0 + y) * S + x0) * 3;
      for (int64_t x = 0; x < C; ++x) {
        const uint8_t* p = row + 3 * (flip ? C - 1 - x : x);
        if (img.layout == Layout::nhwc) {
          float* d = out + offset4(sh, Layout::nhwc, i, 0, y, x);
          d[0] = p[0] + add[0], d[1] = p[1] + add[1], d[2] = p[2] + add[2];
        } else {
          for (int c = 0; c < 3; ++c) out[offset4(sh, img.layout, i, c, y, x)] = p[c] + add[c];
        }
      }
    }
    const double t3 = now_seconds();
    st->read_s += t1 - t0, st->decode_s += t2 - t1, st->augment_s += t3 - t2, st->samples += 1;
  }
  slot.batch.valid = valid;
  slot.batch.step = step;
}

void Loader::State::work(int thread) {
  std::unique_lock<std::mutex> lock(m);
  for (;;) {
    Slot* slot = nullptr;
    cv.wait(lock, [&] {
      if (stop || error) return true;
      if (!o.train && produce_next * global_batch >= n) return false;
      for (auto& s : slots)
        if (s->state == Slot::free) return true;
      return false;
    });
    if (stop || error) return;
    for (auto& s : slots)
      if (s->state == Slot::free) {
        slot = s.get();
        break;
      }
    slot->state = Slot::filling;
    const int64_t step = produce_next++;
    lock.unlock();
    LoaderStats st;
    try {
      const bool tracing = o.trace && o.trace->recording();
      const double t0 = tracing ? now_seconds() : 0;
      fill(*slot, step, &st);
      if (tracing) {
        TraceEvent e;
        e.track = kTrackLoader + thread, e.category = "loader";
        e.step = o.train ? o.start / global_batch + step + 1 : step + 1;
        e.name = "batch of step " + std::to_string(e.step);
        e.t0 = t0, e.t1 = now_seconds();
        e.args = {{"samples", static_cast<double>(st.samples)}};
        o.trace->add(std::move(e));
      }
    } catch (...) {
      lock.lock();
      if (!error) error = std::current_exception();
      cv.notify_all();
      return;
    }
    lock.lock();
    slot->state = Slot::ready;
    stats.read_s += st.read_s, stats.decode_s += st.decode_s, stats.augment_s += st.augment_s;
    stats.samples += st.samples;
    cv.notify_all();
  }
}

Loader::Loader(std::shared_ptr<const ShardReader> reader, const LoaderOptions& o) : s_(std::make_unique<State>()) {
  State& s = *s_;
  s.reader = std::move(reader);
  s.o = o;
  const ShardIndex& ix = s.reader->index();
  ALEXNET_CHECK(o.batch >= 1 && o.ranks >= 1 && o.rank >= 0 && o.rank < o.ranks, "loader: bad batch or ranks");
  ALEXNET_CHECK(o.threads >= 1 && o.prefetch >= 1, "loader: --loader-threads and --prefetch must be at least 1");
  ALEXNET_CHECK(o.crop >= 1 && o.crop <= ix.image_size, "the model's input " << o.crop << " does not fit the data's "
                                                                             << ix.image_size << "-pixel images in "
                                                                             << ix.dir);
  ALEXNET_CHECK(o.view >= -1 && o.view < 10, "loader: view must be -1..9");
  s.n = ix.num_samples;
  s.global_batch = o.batch * o.ranks;
  if (o.train)
    ALEXNET_CHECK(s.n >= s.global_batch, ix.dir << " holds " << s.n << " samples, fewer than one global batch ("
                                                << o.batch << " x " << o.ranks << " ranks)");
  if (o.train && o.shuffle == Shuffle::shard)
    ALEXNET_CHECK(static_cast<int64_t>(ix.shards.size()) >= o.ranks,
                  "--shuffle shard needs at least one shard per rank: " << ix.shards.size() << " shards, " << o.ranks
                                                                        << " ranks");
  const Shape ishape{o.batch, 3, o.crop, o.crop};
  for (int k = 0; k < o.prefetch + o.threads; ++k) {
    auto slot = std::make_unique<State::Slot>();
    slot->images = OwnedTensor(ishape, Device::cpu(), o.layout, DType::f32, o.pinned);
    slot->labels = OwnedTensor(Shape{o.batch}, Device::cpu(), Layout::nchw, DType::i32, o.pinned);
    slot->batch.images = *slot->images;
    slot->batch.labels = *slot->labels;
    s.slots.push_back(std::move(slot));
  }
  s.end_of_pass.images = s.slots[0]->batch.images;
  s.end_of_pass.labels = s.slots[0]->batch.labels;
  for (int t = 0; t < o.threads; ++t) s.workers.emplace_back([&s, t] { s.work(t); });
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lock(s_->m);
    s_->stop = true;
  }
  s_->cv.notify_all();
  for (auto& t : s_->workers) t.join();
}

const Batch& Loader::next() {
  State& s = *s_;
  std::unique_lock<std::mutex> lock(s.m);
  if (s.delivered) {
    s.delivered->state = State::Slot::free;
    s.delivered = nullptr;
    s.cv.notify_all();
  }
  if (!s.o.train && s.consume_next * s.global_batch >= s.n) {
    s.end_of_pass.valid = 0;
    return s.end_of_pass;
  }
  State::Slot* found = nullptr;
  s.cv.wait(lock, [&] {
    if (s.error) return true;
    for (auto& slot : s.slots)
      if (slot->state == State::Slot::ready && slot->batch.step == s.consume_next) {
        found = slot.get();
        return true;
      }
    return false;
  });
  if (s.error) std::rethrow_exception(s.error);
  ++s.consume_next;
  s.delivered = found;
  return found->batch;
}

int64_t Loader::eval_batches() const { return (s_->n + s_->global_batch - 1) / s_->global_batch; }

LoaderStats Loader::stats() const {
  std::lock_guard<std::mutex> lock(s_->m);
  return s_->stats;
}

int64_t Loader::sample_at_step(int64_t step, int rank, int64_t i) const { return s_->sample_at(step, rank, i); }

}  // namespace alexnet
