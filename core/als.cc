#include "core/als.h"

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <new>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"

namespace recd::core {
namespace {

using RowMatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Rows per block of the Gramian: each block is summed in float by Eigen's
// blocked kernel, the blocks in double, in block order (so the result does not
// depend on the number of threads).
constexpr size_t kGramianBlockRows = 2048;
// Rows claimed at a time by a training worker.
constexpr size_t kRowGrain = 64;
// A row's entries gathered into a dense block at a time; a row with no more
// entries than this is gathered once per step, longer ones chunk by chunk.
constexpr size_t kGatherRows = 1024;
// Residual below which a row is left alone (benfred/implicit's threshold).
constexpr float kCgEpsilon = 1e-20f;

absl::Status Invalid(const std::string& field, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

// c - 1 and c*p for a summed weight w (the definition in als.h).
inline float ConfidenceMinusOne(float w, float alpha) { return alpha * std::fabs(w); }
inline float ConfidenceTimesPreference(float w, float alpha) {
  return w >= 0 ? 1.0f + alpha * w : 0.0f;
}

// Runs `work` on `threads` threads, the caller's included, and joins them. If
// a thread cannot be started the others do its share: `work` must pull its
// items from a shared counter until none are left. `work` must not throw (an
// exception on a std::thread terminates): allocate before, in the caller.
template <typename Work>
void RunWorkers(int threads, const Work& work) {
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) {
    try {
      pool.emplace_back(work);
    } catch (const std::system_error&) {
      break;
    }
  }
  work();
  for (std::thread& th : pool) th.join();
}

// Full symmetric YᵀY in double of `count` rows of `dim` floats.
Eigen::MatrixXd GramianDouble(const float* rows, size_t count, int dim, int threads) {
  const size_t blocks = (count + kGramianBlockRows - 1) / kGramianBlockRows;
  std::vector<Eigen::MatrixXf> partial(blocks, Eigen::MatrixXf::Zero(dim, dim));
  std::atomic<size_t> next{0};
  RunWorkers(static_cast<int>(std::min<size_t>(threads, std::max<size_t>(blocks, 1))), [&] {
    for (size_t b; (b = next.fetch_add(1)) < blocks;) {
      const size_t begin = b * kGramianBlockRows;
      const size_t n = std::min(kGramianBlockRows, count - begin);
      Eigen::Map<const RowMatrixF> y(rows + begin * dim, n, dim);
      partial[b].selfadjointView<Eigen::Lower>().rankUpdate(y.transpose());
    }
  });
  Eigen::MatrixXd g = Eigen::MatrixXd::Zero(dim, dim);
  for (const Eigen::MatrixXf& part : partial) g += part.cast<double>();
  g.triangularView<Eigen::StrictlyUpper>() = g.transpose();
  return g;
}

// Compressed sparse rows: row r's entries are [start[r], start[r+1]) of
// col/weight, sorted by col, one entry per (row, col).
struct Csr {
  std::vector<size_t> start;
  std::vector<uint32_t> col;
  std::vector<float> weight;
};

absl::Status CheckInteractions(const std::vector<Interaction>& interactions, uint32_t num_users,
                               uint32_t num_items) {
  for (size_t k = 0; k < interactions.size(); ++k) {
    const Interaction& in = interactions[k];
    const std::string field = absl::StrCat("interactions[", k, "]");
    if (in.user >= num_users) {
      return Invalid(field + ".user",
                     absl::StrCat(in.user, " is not below num_users (", num_users, ")"));
    }
    if (in.item >= num_items) {
      return Invalid(field + ".item",
                     absl::StrCat(in.item, " is not below num_items (", num_items, ")"));
    }
    if (!std::isfinite(in.weight)) return Invalid(field + ".weight", "must be finite");
  }
  return absl::OkStatus();
}

// Users x items, duplicates summed. REQUIRES: CheckInteractions passed.
absl::StatusOr<Csr> BuildUserCsr(const std::vector<Interaction>& interactions, uint32_t num_users) {
  Csr csr;
  csr.start.assign(size_t{num_users} + 1, 0);
  for (const Interaction& in : interactions) ++csr.start[in.user + 1];
  for (uint32_t u = 0; u < num_users; ++u) csr.start[u + 1] += csr.start[u];
  std::vector<std::pair<uint32_t, float>> entries(interactions.size());
  {
    std::vector<size_t> cursor(csr.start.begin(), csr.start.end() - 1);
    for (const Interaction& in : interactions) {
      entries[cursor[in.user]++] = {in.item, in.weight};
    }
  }
  csr.col.reserve(entries.size());
  csr.weight.reserve(entries.size());
  size_t begin = 0;
  for (uint32_t u = 0; u < num_users; ++u) {
    const size_t end = csr.start[u + 1];
    std::stable_sort(entries.begin() + begin, entries.begin() + end,
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    csr.start[u] = csr.col.size();
    for (size_t k = begin; k < end;) {
      double sum = 0;
      const uint32_t item = entries[k].first;
      for (; k < end && entries[k].first == item; ++k) sum += entries[k].second;
      const auto w = static_cast<float>(sum);
      if (!std::isfinite(w)) {
        return Invalid("interactions", absl::StrCat("the summed weight of user ", u, " on item ",
                                                    item, " overflows a float"));
      }
      csr.col.push_back(item);
      csr.weight.push_back(w);
    }
    begin = end;
  }
  csr.start[num_users] = csr.col.size();
  return csr;
}

// Items x users from users x items; each row stays sorted.
Csr Transpose(const Csr& in, uint32_t num_cols) {
  Csr out;
  out.start.assign(size_t{num_cols} + 1, 0);
  for (uint32_t c : in.col) ++out.start[c + 1];
  for (uint32_t c = 0; c < num_cols; ++c) out.start[c + 1] += out.start[c];
  out.col.resize(in.col.size());
  out.weight.resize(in.col.size());
  std::vector<size_t> cursor(out.start.begin(), out.start.end() - 1);
  for (size_t r = 0; r + 1 < in.start.size(); ++r) {
    for (size_t k = in.start[r]; k < in.start[r + 1]; ++k) {
      const size_t at = cursor[in.col[k]]++;
      out.col[at] = static_cast<uint32_t>(r);
      out.weight[at] = in.weight[k];
    }
  }
  return out;
}

// One row's CG solve (benfred/implicit least_squares_cg) with per-thread
// scratch, allocated up front: Solve() allocates nothing. The system is
// (A + Yuᵀ diag(c - 1) Yu) x = Yuᵀ (c p), with A = YᵀY + lambda I and Yu the
// rows of Y the row has entries for.
class RowSolver {
 public:
  RowSolver(const Eigen::MatrixXf& a, const Csr& csr, const float* y, int dim, const AlsParams& p)
      : a_(a),
        csr_(csr),
        y_(y),
        dim_(dim),
        alpha_(static_cast<float>(p.alpha)),
        cg_steps_(p.cg_steps),
        x_(dim),
        r_(dim),
        d_(dim),
        ad_(dim),
        proj_(kGatherRows),
        rows_(kGatherRows, dim) {}

  // Refines row `row` of x (dim floats at x_row) in place.
  void Solve(size_t row, float* x_row) {
    begin_ = csr_.start[row];
    end_ = csr_.start[row + 1];
    gathered_ = false;
    Eigen::Map<Eigen::VectorXf> x_out(x_row, dim_);
    x_ = x_out;

    // r = b - (A + Yuᵀ(C - I)Yu) x, one pass: Yuᵀ (c p - (c - 1) Yu x).
    r_.noalias() = a_ * x_;
    r_ = -r_;
    ApplyRows(x_, r_, [this](size_t k, float proj) {
      const float w = csr_.weight[k];
      return ConfidenceTimesPreference(w, alpha_) - ConfidenceMinusOne(w, alpha_) * proj;
    });
    d_ = r_;
    float rs_old = r_.squaredNorm();
    if (rs_old < kCgEpsilon) return;
    for (int step = 0; step < cg_steps_; ++step) {
      ad_.noalias() = a_ * d_;
      ApplyRows(d_, ad_, [this](size_t k, float proj) {
        return ConfidenceMinusOne(csr_.weight[k], alpha_) * proj;
      });
      const float d_ad = d_.dot(ad_);
      if (!(d_ad > 0)) break;  // d is (numerically) zero; nothing left to do
      const float step_size = rs_old / d_ad;
      x_ += step_size * d_;
      r_ -= step_size * ad_;
      const float rs_new = r_.squaredNorm();
      if (rs_new < kCgEpsilon) break;
      d_ = r_ + (rs_new / rs_old) * d_;
      rs_old = rs_new;
    }
    if (x_.allFinite()) x_out = x_;  // else keep the previous row (cannot happen with lambda > 0)
  }

 private:
  // out += Yuᵀ coef, coef_k = coef_fn(entry k, (Yu v)_k), a chunk of rows at
  // a time (gathered into contiguous memory for Eigen's matrix-vector kernels).
  template <typename CoefFn>
  void ApplyRows(const Eigen::VectorXf& v, Eigen::VectorXf& out, const CoefFn& coef_fn) {
    for (size_t chunk = begin_; chunk < end_; chunk += kGatherRows) {
      const size_t n = std::min(kGatherRows, end_ - chunk);
      if (!gathered_) {
        for (size_t k = 0; k < n; ++k) {
          rows_.row(k) =
              Eigen::Map<const Eigen::RowVectorXf>(y_ + size_t{csr_.col[chunk + k]} * dim_, dim_);
        }
        gathered_ = end_ - begin_ <= kGatherRows;  // one chunk: keep it for the row
      }
      auto block = rows_.topRows(n);
      auto proj = proj_.head(n);
      proj.noalias() = block * v;
      for (size_t k = 0; k < n; ++k) proj[k] = coef_fn(chunk + k, proj[k]);
      out.noalias() += block.transpose() * proj;
    }
  }

  const Eigen::MatrixXf& a_;
  const Csr& csr_;
  const float* y_;
  const int dim_;
  const float alpha_;
  const int cg_steps_;
  size_t begin_ = 0, end_ = 0;
  bool gathered_ = false;
  Eigen::VectorXf x_, r_, d_, ad_, proj_;
  RowMatrixF rows_;
};

// Updates every row of x (rows of `csr`) against fixed y (num_y rows).
void CgStep(const Csr& csr, const float* y, size_t num_y, float* x, const AlsParams& p) {
  const int dim = p.factors;
  Eigen::MatrixXd g = GramianDouble(y, num_y, dim, p.threads);
  g.diagonal().array() += p.lambda;
  const Eigen::MatrixXf a = g.cast<float>();
  const size_t num_rows = csr.start.size() - 1;
  std::vector<RowSolver> solvers;
  solvers.reserve(p.threads);
  for (int t = 0; t < p.threads; ++t) solvers.emplace_back(a, csr, y, dim, p);
  std::atomic<int> next_solver{0};
  std::atomic<size_t> next{0};
  RunWorkers(p.threads, [&] {
    RowSolver& solver = solvers[next_solver.fetch_add(1)];
    for (size_t b; (b = next.fetch_add(kRowGrain)) < num_rows;) {
      const size_t e = std::min(num_rows, b + kRowGrain);
      for (size_t row = b; row < e; ++row) solver.Solve(row, x + row * dim);
    }
  });
}

absl::StatusOr<AlsModel> TrainAlsImpl(
    const std::vector<Interaction>& interactions, uint32_t num_users, uint32_t num_items,
    const AlsParams& p, const std::function<void(int iteration, double seconds)>& progress) {
  if (absl::Status st = ValidateAlsParams(p); !st.ok()) return st;
  if (absl::Status st = CheckInteractions(interactions, num_users, num_items); !st.ok()) {
    return st;
  }
  absl::StatusOr<Csr> by_user = BuildUserCsr(interactions, num_users);
  if (!by_user.ok()) return by_user.status();
  const Csr by_item = Transpose(*by_user, num_items);

  AlsModel model;
  model.factors = p.factors;
  const size_t dim = static_cast<size_t>(p.factors);
  model.user_factors.resize(size_t{num_users} * dim);
  model.item_factors.resize(size_t{num_items} * dim);
  // Uniform [0, 0.01) from the top 24 bits: the same on every platform, unlike
  // std::uniform_real_distribution.
  std::mt19937_64 rng(p.seed);
  for (auto* v : {&model.user_factors, &model.item_factors}) {
    for (float& f : *v) f = static_cast<float>(rng() >> 40) * (0.01f / 16777216.0f);
  }

  for (int it = 1; it <= p.iterations; ++it) {
    const auto start = std::chrono::steady_clock::now();
    CgStep(*by_user, model.item_factors.data(), num_items, model.user_factors.data(), p);
    CgStep(by_item, model.user_factors.data(), num_users, model.item_factors.data(), p);
    if (progress) {
      progress(it, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
  }
  return model;
}

}  // namespace

absl::Status ValidateAlsParams(const AlsParams& p) {
  if (p.factors < 1) return Invalid("factors", absl::StrCat(p.factors, " must be >= 1"));
  if (!(p.alpha >= 0) || !std::isfinite(p.alpha)) {
    return Invalid("alpha", absl::StrCat(p.alpha, " must be finite and >= 0"));
  }
  if (!(p.lambda >= 0) || !std::isfinite(p.lambda)) {
    return Invalid("lambda", absl::StrCat(p.lambda, " must be finite and >= 0"));
  }
  if (p.iterations < 0) return Invalid("iterations", absl::StrCat(p.iterations, " must be >= 0"));
  if (p.cg_steps < 1) return Invalid("cg_steps", absl::StrCat(p.cg_steps, " must be >= 1"));
  if (p.threads < 1) return Invalid("threads", absl::StrCat(p.threads, " must be >= 1"));
  return absl::OkStatus();
}

std::vector<float> Gramian(const float* rows, size_t count, int dim) {
  const Eigen::MatrixXd g = GramianDouble(rows, count, dim, /*threads=*/1);
  std::vector<float> out(static_cast<size_t>(dim) * dim);
  Eigen::Map<RowMatrixF>(out.data(), dim, dim) = g.cast<float>();
  return out;
}

void GramianAddRow(float* yty, int dim, const float* v, float sign) {
  for (int i = 0; i < dim; ++i) {
    const float s = sign * v[i];
    float* row = yty + static_cast<size_t>(i) * dim;
    for (int j = 0; j < dim; ++j) row[j] += s * v[j];
  }
}

bool FoldInUser(const double* yty, int dim, const std::vector<const float*>& item_vectors,
                const std::vector<float>& weights, const AlsParams& p, std::vector<float>* out) {
  if (yty == nullptr || out == nullptr || dim < 1 || item_vectors.size() != weights.size()) {
    return false;
  }
  if (!(p.alpha >= 0) || !std::isfinite(p.alpha) || !(p.lambda >= 0) || !std::isfinite(p.lambda)) {
    return false;
  }
  const Eigen::Index n = static_cast<Eigen::Index>(item_vectors.size());
  // A = YᵀY + lambda I + U Uᵀ with U's columns y_i sqrt(c_i - 1); b = Σ c_i p_i y_i.
  Eigen::MatrixXd a = Eigen::Map<const RowMatrixD>(yty, dim, dim);
  a.diagonal().array() += p.lambda;
  Eigen::MatrixXd u(dim, n);
  Eigen::VectorXd b = Eigen::VectorXd::Zero(dim);
  for (Eigen::Index i = 0; i < n; ++i) {
    const float w = weights[i];
    if (item_vectors[i] == nullptr || !std::isfinite(w)) return false;
    const Eigen::VectorXd y =
        Eigen::Map<const Eigen::VectorXf>(item_vectors[i], dim).cast<double>();
    const double c_minus_1 = p.alpha * std::fabs(static_cast<double>(w));
    u.col(i) = std::sqrt(c_minus_1) * y;
    if (w >= 0) b += (1.0 + c_minus_1) * y;
  }
  if (n > 0) a.selfadjointView<Eigen::Lower>().rankUpdate(u);
  Eigen::LLT<Eigen::Ref<Eigen::MatrixXd>, Eigen::Lower> llt(a);  // in place, lower half
  if (llt.info() != Eigen::Success) return false;
  const Eigen::VectorXd x = llt.solve(b);
  if (!x.allFinite()) return false;
  out->resize(dim);
  Eigen::Map<Eigen::VectorXf>(out->data(), dim) = x.cast<float>();
  return true;
}

bool FoldInUserFrom(const double* yty, const float* yty_f, int dim,
                    const std::vector<const float*>& item_vectors,
                    const std::vector<float>& weights, const AlsParams& p, const float* start,
                    std::vector<float>* out) {
  if (yty == nullptr || yty_f == nullptr || out == nullptr || start == nullptr || dim < 1 ||
      item_vectors.size() != weights.size() || item_vectors.empty()) {
    return FoldInUser(yty, dim, item_vectors, weights, p, out);
  }
  if (!(p.alpha >= 0) || !std::isfinite(p.alpha) || !(p.lambda >= 0) || !std::isfinite(p.lambda)) {
    return false;
  }
  // In float: twice the SIMD lanes of double. At 64 factors the steps and
  // the distance to the exact solution are those of a double CG (measured
  // on a trained model: 14.8 steps, 7.8e-5 vs 7.9e-5 relative error), and a
  // solve that does not reach the residual finishes with the double LLT.
  const Eigen::Index n = static_cast<Eigen::Index>(item_vectors.size());
  Eigen::MatrixXf y(dim, n);
  Eigen::VectorXf cm1(n);
  Eigen::VectorXf b = Eigen::VectorXf::Zero(dim);
  for (Eigen::Index i = 0; i < n; ++i) {
    const float w = weights[i];
    if (item_vectors[i] == nullptr || !std::isfinite(w)) return false;
    y.col(i) = Eigen::Map<const Eigen::VectorXf>(item_vectors[i], dim);
    cm1(i) = static_cast<float>(p.alpha * std::fabs(static_cast<double>(w)));
    if (w >= 0) b += (1.0f + cm1(i)) * y.col(i);
  }
  const Eigen::Map<const RowMatrixF> g(yty_f, dim, dim);
  const float lambda = static_cast<float>(p.lambda);
  // *av = A v = (YᵀY + lambda I) v + Σ (c_i - 1) y_i (y_i · v), into
  // buffers allocated once per solve.
  Eigen::VectorXf t(n);
  auto apply = [&](const Eigen::VectorXf& v, Eigen::VectorXf* av) {
    t.noalias() = y.transpose() * v;
    t.array() *= cm1.array();
    av->noalias() = g * v;
    *av += lambda * v;
    av->noalias() += y * t;
  };
  Eigen::VectorXf x = Eigen::Map<const Eigen::VectorXf>(start, dim);
  if (!x.allFinite()) return FoldInUser(yty, dim, item_vectors, weights, p, out);
  const double tol2 = 1e-10 * static_cast<double>(b.squaredNorm());
  Eigen::VectorXf ad(dim);
  apply(x, &ad);
  Eigen::VectorXf r = b - ad;
  double rs = r.squaredNorm();
  Eigen::VectorXf d = r;
  const int max_steps = std::max(2, dim / 2);
  int step = 0;
  for (; rs > tol2 && step < max_steps; ++step) {
    apply(d, &ad);
    const double dad = d.dot(ad);
    if (!(dad > 0)) break;  // not positive definite along d: let LLT decide
    const auto a = static_cast<float>(rs / dad);
    x += a * d;
    r -= a * ad;
    const double rs_next = r.squaredNorm();
    d = r + static_cast<float>(rs_next / rs) * d;
    rs = rs_next;
  }
  if (!(rs <= tol2) || !x.allFinite()) {
    return FoldInUser(yty, dim, item_vectors, weights, p, out);
  }
  out->assign(x.data(), x.data() + dim);
  return true;
}

absl::StatusOr<AlsModel> TrainAls(
    const std::vector<Interaction>& interactions, uint32_t num_users, uint32_t num_items,
    const AlsParams& p, const std::function<void(int iteration, double seconds)>& progress) {
  try {
    return TrainAlsImpl(interactions, num_users, num_items, p, progress);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("TrainAls: out of memory");
  } catch (const std::length_error&) {
    return absl::ResourceExhaustedError("TrainAls: model too large");
  }
}

absl::StatusOr<double> AlsLoss(const std::vector<Interaction>& interactions, uint32_t num_users,
                               uint32_t num_items, const AlsModel& model, const AlsParams& p) {
  if (absl::Status st = ValidateAlsParams(p); !st.ok()) return st;
  if (model.factors != p.factors) {
    return Invalid("model.factors",
                   absl::StrCat(model.factors, " differs from factors (", p.factors, ")"));
  }
  const size_t dim = static_cast<size_t>(p.factors);
  if (model.user_factors.size() != size_t{num_users} * dim) {
    return Invalid("model.user_factors", "size is not num_users * factors");
  }
  if (model.item_factors.size() != size_t{num_items} * dim) {
    return Invalid("model.item_factors", "size is not num_items * factors");
  }
  if (absl::Status st = CheckInteractions(interactions, num_users, num_items); !st.ok()) {
    return st;
  }
  absl::StatusOr<Csr> csr = BuildUserCsr(interactions, num_users);
  if (!csr.ok()) return csr.status();

  using RowMatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const RowMatrixD x =
      Eigen::Map<const RowMatrixF>(model.user_factors.data(), num_users, dim).cast<double>();
  const RowMatrixD y =
      Eigen::Map<const RowMatrixF>(model.item_factors.data(), num_items, dim).cast<double>();
  // Every pair as if unobserved (c = 1, p = 0): Σ_u x_uᵀ YᵀY x_u; then the
  // observed pairs' correction c (p - s)² - s²; then the regulariser.
  const Eigen::MatrixXd g = y.transpose() * y;
  double loss = ((x * g).cwiseProduct(x)).sum();
  for (uint32_t u = 0; u < num_users; ++u) {
    for (size_t k = csr->start[u]; k < csr->start[u + 1]; ++k) {
      const double w = csr->weight[k];
      const double c = 1.0 + p.alpha * std::fabs(w);
      const double pref = w >= 0 ? 1.0 : 0.0;
      const double s = x.row(u).dot(y.row(csr->col[k]));
      loss += c * (pref - s) * (pref - s) - s * s;
    }
  }
  loss += p.lambda * (x.squaredNorm() + y.squaredNorm());
  return loss;
}

}  // namespace recd::core
