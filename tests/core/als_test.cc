#include "core/als.h"

#include <algorithm>
#include <cmath>
#include <eigen3/Eigen/Dense>  // recd_core links Eigen privately: reach it under /usr/include
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recd::core {
namespace {

// YᵀY as the fold-in takes it (ItemVectors publishes it in double).
std::vector<double> GramianD(const float* rows, size_t count, int dim) {
  const std::vector<float> g = Gramian(rows, count, dim);
  return std::vector<double>(g.begin(), g.end());
}

using ::testing::HasSubstr;
using RowMatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

std::vector<float> RandomRows(size_t count, int dim, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> v(count * dim);
  for (float& x : v) x = normal(rng);
  return v;
}

double RelativeError(const std::vector<float>& got, const Eigen::VectorXd& want) {
  Eigen::VectorXd diff = want;
  for (int i = 0; i < want.size(); ++i) diff[i] -= got[i];
  return diff.norm() / want.norm();
}

// x_u straight from the formula: the full (YᵀY + Yᵀ(C−I)Y + λI) and YᵀCp over
// every item (c = 1, p = 0 for the user's other items), solved by QR.
Eigen::VectorXd DenseSolve(const std::vector<float>& items, size_t num_items, int dim,
                           const std::vector<uint32_t>& user_items,
                           const std::vector<float>& weights, double alpha, double lambda) {
  const RowMatrixD y =
      Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
          items.data(), num_items, dim)
          .cast<double>();
  Eigen::VectorXd c = Eigen::VectorXd::Ones(num_items);
  Eigen::VectorXd pref = Eigen::VectorXd::Zero(num_items);
  for (size_t k = 0; k < user_items.size(); ++k) {
    c[user_items[k]] = 1 + alpha * std::fabs(weights[k]);
    pref[user_items[k]] = weights[k] >= 0 ? 1 : 0;
  }
  const Eigen::MatrixXd cm = c.asDiagonal();
  const Eigen::MatrixXd identity = Eigen::MatrixXd::Identity(num_items, num_items);
  const Eigen::MatrixXd a = y.transpose() * y + y.transpose() * (cm - identity) * y +
                            lambda * Eigen::MatrixXd::Identity(dim, dim);
  const Eigen::VectorXd b = y.transpose() * cm * pref;
  return a.colPivHouseholderQr().solve(b);
}

std::vector<const float*> RowPointers(const std::vector<float>& rows, int dim,
                                      const std::vector<uint32_t>& ids) {
  std::vector<const float*> out;
  for (uint32_t id : ids) out.push_back(rows.data() + size_t{id} * dim);
  return out;
}

TEST(FoldInUser, MatchesDenseSolveOfTheFormula) {
  struct Case {
    int dim;
    size_t num_items;
    size_t user_items;
    double alpha, lambda;
  };
  for (const Case& tc :
       {Case{8, 50, 7, 40, 0.1}, Case{16, 120, 30, 1, 5}, Case{64, 400, 256, 40, 0.1}}) {
    SCOPED_TRACE(tc.dim);
    const std::vector<float> items = RandomRows(tc.num_items, tc.dim, 3, 0.3f);
    std::vector<uint32_t> ids(tc.num_items);
    std::iota(ids.begin(), ids.end(), 0);
    std::shuffle(ids.begin(), ids.end(), std::mt19937(5));
    ids.resize(tc.user_items);
    std::vector<float> weights;
    for (size_t k = 0; k < ids.size(); ++k) {
      // Mostly positive, one zero (c = 1, p = 1), one negative (p = 0).
      weights.push_back(k == 1 ? 0.0f : k == 2 ? -2.0f : 0.5f + static_cast<float>(k % 4));
    }
    AlsParams p;
    p.alpha = tc.alpha;
    p.lambda = tc.lambda;
    const std::vector<double> yty = GramianD(items.data(), tc.num_items, tc.dim);
    std::vector<float> x;
    ASSERT_TRUE(FoldInUser(yty.data(), tc.dim, RowPointers(items, tc.dim, ids), weights, p, &x));
    ASSERT_EQ(x.size(), static_cast<size_t>(tc.dim));
    const Eigen::VectorXd want =
        DenseSolve(items, tc.num_items, tc.dim, ids, weights, tc.alpha, tc.lambda);
    EXPECT_LT(RelativeError(x, want), 1e-4);
  }
}

// The conjugate-gradient path gives FoldInUser's answer from a warm start
// (the solution before one more event), from a cold one (zero) and from a
// poor one (random), on both sides of the exact fallback.
TEST(FoldInUserFrom, ReachesTheExactSolutionFromAnyStart) {
  const int dim = 64;
  const size_t num_items = 400;
  const std::vector<float> items = RandomRows(num_items, dim, 3, 0.3f);
  const std::vector<double> yty = GramianD(items.data(), num_items, dim);
  const std::vector<float> yty_f(yty.begin(), yty.end());
  std::vector<uint32_t> ids;
  std::vector<float> weights;
  for (uint32_t i = 0; i < 40; ++i) {
    ids.push_back(i * 7 % num_items);
    weights.push_back(i == 3 ? -1.0f : 1.0f + i % 3);
  }
  AlsParams p;
  p.alpha = 10;
  p.lambda = 1;
  std::vector<float> before;
  ASSERT_TRUE(FoldInUser(yty.data(), dim, RowPointers(items, dim, ids), weights, p, &before));
  ids.push_back(399);  // one more event
  weights.push_back(2.0f);
  weights[5] += 1.0f;  // and a repeat
  std::vector<float> exact;
  ASSERT_TRUE(FoldInUser(yty.data(), dim, RowPointers(items, dim, ids), weights, p, &exact));
  const Eigen::VectorXd want = Eigen::Map<const Eigen::VectorXf>(exact.data(), dim).cast<double>();
  const std::vector<float> zero(dim, 0.f), noise = RandomRows(1, dim, 9, 1.0f);
  const std::vector<const std::vector<float>*> starts = {&before, &zero, &noise};
  for (const std::vector<float>* start : starts) {
    std::vector<float> x;
    ASSERT_TRUE(FoldInUserFrom(yty.data(), yty_f.data(), dim, RowPointers(items, dim, ids), weights,
                               p, start->data(), &x));
    EXPECT_LT(RelativeError(x, want), 1e-4);
  }
  // A non-finite start falls back to the exact solve; malformed input fails.
  std::vector<float> bad(dim, NAN), x;
  ASSERT_TRUE(FoldInUserFrom(yty.data(), yty_f.data(), dim, RowPointers(items, dim, ids), weights,
                             p, bad.data(), &x));
  EXPECT_LT(RelativeError(x, want), 1e-4);
  weights.back() = NAN;
  EXPECT_FALSE(FoldInUserFrom(yty.data(), yty_f.data(), dim, RowPointers(items, dim, ids), weights,
                              p, before.data(), &x));
}

TEST(FoldInUser, UserWithoutItemsGetsZero) {
  const std::vector<float> items = RandomRows(20, 4, 1);
  const std::vector<double> yty = GramianD(items.data(), 20, 4);
  std::vector<float> x(4, 7.0f);
  ASSERT_TRUE(FoldInUser(yty.data(), 4, {}, {}, AlsParams{}, &x));
  EXPECT_EQ(x, std::vector<float>(4, 0.0f));
}

TEST(FoldInUser, MalformedInputReturnsFalseAndLeavesOutUntouched) {
  const int dim = 4;
  const std::vector<float> items = RandomRows(10, dim, 1);
  const std::vector<double> yty = GramianD(items.data(), 10, dim);
  const std::vector<const float*> vecs = RowPointers(items, dim, {1, 2});
  const std::vector<float> untouched = {1, 2, 3};
  std::vector<float> x = untouched;
  AlsParams p;
  EXPECT_FALSE(FoldInUser(yty.data(), dim, vecs, {1.0f}, p, &x));  // sizes differ
  EXPECT_FALSE(FoldInUser(yty.data(), dim, {vecs[0], nullptr}, {1, 1}, p, &x));
  EXPECT_FALSE(FoldInUser(yty.data(), dim, vecs, {1.0f, NAN}, p, &x));
  EXPECT_FALSE(FoldInUser(yty.data(), 0, vecs, {1, 1}, p, &x));
  p.alpha = -1;
  EXPECT_FALSE(FoldInUser(yty.data(), dim, vecs, {1, 1}, p, &x));
  p.alpha = 40;
  p.lambda = -0.1;
  EXPECT_FALSE(FoldInUser(yty.data(), dim, vecs, {1, 1}, p, &x));
  // Not positive definite: no items in the Gramian and no regularisation.
  p.lambda = 0;
  const std::vector<double> zero(dim * dim, 0.0);
  EXPECT_FALSE(FoldInUser(zero.data(), dim, {}, {}, p, &x));
  EXPECT_EQ(x, untouched);
}

TEST(Gramian, MatchesNaiveSum) {
  const int dim = 6;
  const size_t n = 5000;  // more than one block of rows
  const std::vector<float> rows = RandomRows(n, dim, 2);
  const std::vector<float> g = Gramian(rows.data(), n, dim);
  ASSERT_EQ(g.size(), size_t{dim * dim});
  for (int i = 0; i < dim; ++i) {
    for (int j = 0; j < dim; ++j) {
      double want = 0;
      for (size_t r = 0; r < n; ++r) want += double{rows[r * dim + i]} * rows[r * dim + j];
      EXPECT_NEAR(g[i * dim + j], want, 1e-5 * std::max(1.0, std::fabs(want))) << i << "," << j;
    }
  }
  EXPECT_EQ(Gramian(nullptr, 0, 3), std::vector<float>(9, 0.0f));
}

TEST(GramianAddRow, AddThenRemoveGivesBackTheOriginal) {
  const int dim = 16;
  const std::vector<float> rows = RandomRows(300, dim, 4);
  const std::vector<float> original = Gramian(rows.data(), 300, dim);
  std::vector<float> g = original;
  const std::vector<float> extra = RandomRows(3, dim, 9, 2.0f);
  for (int r = 0; r < 3; ++r) GramianAddRow(g.data(), dim, extra.data() + r * dim, +1);
  EXPECT_NE(g, original);
  for (int r = 2; r >= 0; --r) GramianAddRow(g.data(), dim, extra.data() + r * dim, -1);
  for (size_t k = 0; k < g.size(); ++k) {
    EXPECT_NEAR(g[k], original[k], 1e-5 * std::max(1.0f, std::fabs(original[k])));
  }
}

TEST(GramianAddRow, AddingARowEqualsTheGramianWithThatRow) {
  const int dim = 8;
  const std::vector<float> rows = RandomRows(101, dim, 6);
  std::vector<float> g = Gramian(rows.data(), 100, dim);
  GramianAddRow(g.data(), dim, rows.data() + 100 * dim, 1);
  const std::vector<float> want = Gramian(rows.data(), 101, dim);
  for (size_t k = 0; k < g.size(); ++k) {
    EXPECT_NEAR(g[k], want[k], 1e-5 * std::max(1.0f, std::fabs(want[k])));
  }
}

// k latent clusters: users of cluster c interact with items of cluster c.
struct Planted {
  uint32_t num_users = 0, num_items = 0;
  std::vector<Interaction> train;
  std::vector<std::vector<uint32_t>> held_out;  // per user
  std::vector<std::set<uint32_t>> seen;         // per user: items in `train`
};

Planted MakePlanted(int clusters, int users_per_cluster, int items_per_cluster, int per_user,
                    int held_out, int noise, uint32_t seed) {
  std::mt19937 rng(seed);
  Planted d;
  d.num_users = clusters * users_per_cluster;
  d.num_items = clusters * items_per_cluster;
  d.held_out.resize(d.num_users);
  d.seen.resize(d.num_users);
  const float kWeights[] = {1, 1, 1, 2, 5};  // view, view, view, save, purchase
  for (uint32_t u = 0; u < d.num_users; ++u) {
    const int c = u % clusters;
    std::vector<uint32_t> mine(items_per_cluster);
    std::iota(mine.begin(), mine.end(), c * items_per_cluster);
    std::shuffle(mine.begin(), mine.end(), rng);
    for (int k = 0; k < per_user; ++k) {
      if (k < held_out) {
        d.held_out[u].push_back(mine[k]);
      } else {
        d.train.push_back({u, mine[k], kWeights[rng() % 5]});
        d.seen[u].insert(mine[k]);
      }
    }
    for (int k = 0; k < noise; ++k) {
      const uint32_t other = (c + 1 + rng() % (clusters - 1)) % clusters;
      const uint32_t item = other * items_per_cluster + rng() % items_per_cluster;
      d.train.push_back({u, item, 1.0f});
      d.seen[u].insert(item);
    }
  }
  std::shuffle(d.train.begin(), d.train.end(), rng);
  return d;
}

// Share of held-out items among each user's top `k` unseen items by `score`.
template <typename ScoreFn>
double HitRate(const Planted& d, size_t k, const ScoreFn& score) {
  size_t hits = 0, total = 0;
  for (uint32_t u = 0; u < d.num_users; ++u) {
    std::vector<std::pair<float, uint32_t>> ranked;
    for (uint32_t i = 0; i < d.num_items; ++i) {
      if (!d.seen[u].count(i)) ranked.push_back({score(u, i), i});
    }
    std::partial_sort(ranked.begin(), ranked.begin() + k, ranked.end(), std::greater<>());
    std::set<uint32_t> top;
    for (size_t r = 0; r < k; ++r) top.insert(ranked[r].second);
    for (uint32_t i : d.held_out[u]) hits += top.count(i);
    total += d.held_out[u].size();
  }
  return static_cast<double>(hits) / total;
}

float Dot(const AlsModel& m, uint32_t u, uint32_t i) {
  float s = 0;
  for (int f = 0; f < m.factors; ++f) {
    s += m.user_factors[size_t{u} * m.factors + f] * m.item_factors[size_t{i} * m.factors + f];
  }
  return s;
}

TEST(TrainAls, RecoversPlantedClusters) {
  // 4 clusters x (100 users, 50 items). Each user: 40 training items of its
  // cluster + 6 noise items elsewhere; 5 more of its cluster held out. The
  // 10 unseen items of the user's cluster include the 5 held out, so a model
  // that has found the clusters puts them all in the top 10 of 154 unseen.
  const Planted d = MakePlanted(4, 100, 50, 45, 5, 6, 11);
  AlsParams p;
  p.factors = 8;
  p.alpha = 10;
  p.lambda = 0.1;
  p.iterations = 10;
  p.seed = 3;
  absl::StatusOr<AlsModel> m = TrainAls(d.train, d.num_users, d.num_items, p);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->factors, 8);
  ASSERT_EQ(m->user_factors.size(), size_t{d.num_users} * 8);
  ASSERT_EQ(m->item_factors.size(), size_t{d.num_items} * 8);

  const double hr = HitRate(d, 10, [&](uint32_t u, uint32_t i) { return Dot(*m, u, i); });
  std::mt19937 rng(1);
  const double random_hr =
      HitRate(d, 10, [&](uint32_t, uint32_t) { return static_cast<float>(rng()); });
  RecordProperty("hit_rate_at_10", std::to_string(hr));
  RecordProperty("random_hit_rate_at_10", std::to_string(random_hr));
  EXPECT_GE(hr, 0.8);
  EXPECT_LT(random_hr, 0.15);  // the metric is not trivially satisfied
}

// Each user's summed weights, as the server's user state holds them.
std::vector<std::map<uint32_t, float>> WeightsByUser(const Planted& d) {
  std::vector<std::map<uint32_t, float>> per_user(d.num_users);
  for (const Interaction& in : d.train) per_user[in.user][in.item] += in.weight;
  return per_user;
}

// Largest relative distance between a user's row of `users` and its exact
// fold-in against `items`.
double WorstFoldInError(const Planted& d, const std::vector<float>& users,
                        const std::vector<float>& items, const AlsParams& p) {
  const std::vector<double> yty = GramianD(items.data(), d.num_items, p.factors);
  const std::vector<std::map<uint32_t, float>> per_user = WeightsByUser(d);
  double worst = 0;
  for (uint32_t u = 0; u < d.num_users; ++u) {
    std::vector<uint32_t> ids;
    std::vector<float> weights;
    for (const auto& [item, w] : per_user[u]) {
      ids.push_back(item);
      weights.push_back(w);
    }
    std::vector<float> x;
    EXPECT_TRUE(
        FoldInUser(yty.data(), p.factors, RowPointers(items, p.factors, ids), weights, p, &x));
    if (x.size() != static_cast<size_t>(p.factors)) return INFINITY;
    Eigen::VectorXd trained(p.factors);
    for (int f = 0; f < p.factors; ++f) trained[f] = users[size_t{u} * p.factors + f];
    worst = std::max(worst, RelativeError(x, trained));
  }
  return worst;
}

TEST(TrainAls, UserStepIsTheExactFoldIn) {
  // Iteration n+1's user step solves, by CG, the system FoldInUser solves
  // exactly against iteration n's items. With 2 x factors CG steps the
  // float CG reaches the exact solution; training is deterministic, so a run
  // of n iterations gives iteration n's items.
  const Planted d = MakePlanted(4, 30, 20, 15, 0, 3, 21);
  AlsParams p;
  p.factors = 8;
  p.cg_steps = 16;
  p.seed = 5;
  for (int n : {1, 5}) {
    p.iterations = n;
    absl::StatusOr<AlsModel> before = TrainAls(d.train, d.num_users, d.num_items, p);
    p.iterations = n + 1;
    absl::StatusOr<AlsModel> after = TrainAls(d.train, d.num_users, d.num_items, p);
    ASSERT_TRUE(before.ok() && after.ok());
    EXPECT_LT(WorstFoldInError(d, after->user_factors, before->item_factors, p), 1e-4) << n;
  }
}

TEST(TrainAls, FoldInOfATrainedUserGivesItsTrainedFactor) {
  // After enough iterations the user step is a fixed point, so the exact
  // fold-in against the trained items reproduces the trained user vectors.
  // A strong lambda pins the split of scale between user and item vectors,
  // which a weak one leaves to drift for hundreds of iterations.
  const Planted d = MakePlanted(4, 30, 20, 15, 0, 3, 21);
  AlsParams p;
  p.factors = 8;
  p.lambda = 50;
  p.iterations = 100;
  p.seed = 5;
  absl::StatusOr<AlsModel> m = TrainAls(d.train, d.num_users, d.num_items, p);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_LT(WorstFoldInError(d, m->user_factors, m->item_factors, p), 5e-3);
}

TEST(AlsLoss, MatchesTheObjectiveSummedOverAllPairs) {
  const uint32_t nu = 7, ni = 9;
  const int dim = 3;
  AlsModel m{dim, RandomRows(nu, dim, 1), RandomRows(ni, dim, 2)};
  // Includes a duplicate pair (summed) and a negative weight (p = 0).
  const std::vector<Interaction> in = {
      {0, 1, 1.0f}, {0, 1, 2.0f}, {3, 8, 0.5f}, {6, 0, -1.0f}, {2, 4, 4.0f}};
  AlsParams p;
  p.factors = dim;
  p.alpha = 2;
  p.lambda = 0.3;
  double want = 0;
  for (uint32_t u = 0; u < nu; ++u) {
    for (uint32_t i = 0; i < ni; ++i) {
      double w = 0;
      bool observed = false;
      for (const Interaction& e : in) {
        if (e.user == u && e.item == i) w += e.weight, observed = true;
      }
      const double c = observed ? 1 + p.alpha * std::fabs(w) : 1;
      const double pref = observed && w >= 0 ? 1 : 0;
      double s = 0;
      for (int f = 0; f < dim; ++f) {
        s += double{m.user_factors[u * dim + f]} * m.item_factors[i * dim + f];
      }
      want += c * (pref - s) * (pref - s);
    }
  }
  for (float v : m.user_factors) want += p.lambda * v * v;
  for (float v : m.item_factors) want += p.lambda * v * v;
  absl::StatusOr<double> got = AlsLoss(in, nu, ni, m, p);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_NEAR(*got, want, 1e-9 * want);

  AlsModel wrong = m;
  wrong.item_factors.pop_back();
  EXPECT_THAT(AlsLoss(in, nu, ni, wrong, p).status().message(), HasSubstr("model.item_factors"));
}

TEST(AlsLoss, DecreasesOverIterations) {
  const Planted d = MakePlanted(4, 40, 25, 15, 0, 3, 31);
  AlsParams p;
  p.factors = 8;
  p.seed = 9;
  std::vector<double> losses;
  for (int it = 0; it <= 8; ++it) {
    p.iterations = it;  // training is deterministic: a prefix of a longer run
    absl::StatusOr<AlsModel> m = TrainAls(d.train, d.num_users, d.num_items, p);
    ASSERT_TRUE(m.ok()) << m.status();
    absl::StatusOr<double> loss = AlsLoss(d.train, d.num_users, d.num_items, *m, p);
    ASSERT_TRUE(loss.ok()) << loss.status();
    losses.push_back(*loss);
  }
  for (size_t k = 1; k < losses.size(); ++k) {
    EXPECT_LE(losses[k], losses[k - 1] * (1 + 1e-6)) << "iteration " << k;
  }
  EXPECT_LT(losses.back(), 0.5 * losses.front());
}

TEST(TrainAls, DeterministicForASeedWhateverTheThreads) {
  const Planted d = MakePlanted(4, 60, 30, 12, 0, 2, 41);
  AlsParams p;
  p.factors = 16;
  p.iterations = 4;
  p.threads = 1;
  absl::StatusOr<AlsModel> a = TrainAls(d.train, d.num_users, d.num_items, p);
  absl::StatusOr<AlsModel> b = TrainAls(d.train, d.num_users, d.num_items, p);
  p.threads = 2;
  absl::StatusOr<AlsModel> c = TrainAls(d.train, d.num_users, d.num_items, p);
  p.seed = 2;
  absl::StatusOr<AlsModel> other = TrainAls(d.train, d.num_users, d.num_items, p);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok() && other.ok());
  EXPECT_EQ(a->user_factors, b->user_factors);
  EXPECT_EQ(a->item_factors, b->item_factors);
  EXPECT_EQ(a->user_factors, c->user_factors);
  EXPECT_EQ(a->item_factors, c->item_factors);
  EXPECT_NE(a->user_factors, other->user_factors);
}

TEST(TrainAls, DuplicatePairsAddTheirWeights) {
  const std::vector<Interaction> split = {
      {0, 0, 1.0f}, {0, 0, 2.0f}, {1, 1, 1.0f}, {1, 0, 0.5f}, {1, 1, 0.5f}};
  const std::vector<Interaction> summed = {{1, 1, 1.5f}, {0, 0, 3.0f}, {1, 0, 0.5f}};
  AlsParams p;
  p.factors = 4;
  p.iterations = 3;
  absl::StatusOr<AlsModel> a = TrainAls(split, 2, 3, p);
  absl::StatusOr<AlsModel> b = TrainAls(summed, 2, 3, p);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->user_factors, b->user_factors);
  EXPECT_EQ(a->item_factors, b->item_factors);
}

TEST(TrainAls, ProgressReportsEachIteration) {
  const Planted d = MakePlanted(2, 10, 10, 5, 0, 1, 51);
  AlsParams p;
  p.factors = 4;
  p.iterations = 3;
  std::vector<int> seen;
  absl::StatusOr<AlsModel> m =
      TrainAls(d.train, d.num_users, d.num_items, p, [&](int it, double seconds) {
        seen.push_back(it);
        EXPECT_GE(seconds, 0);
      });
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(seen, (std::vector<int>{1, 2, 3}));

  // Zero iterations: the seeded initial factors, small and non-negative.
  p.iterations = 0;
  m = TrainAls(d.train, d.num_users, d.num_items, p);
  ASSERT_TRUE(m.ok());
  for (float v : m->user_factors) EXPECT_TRUE(v >= 0 && v < 0.01f) << v;
}

TEST(TrainAls, EmptyInputGivesZeroUsers) {
  AlsParams p;
  p.factors = 4;
  p.iterations = 2;
  absl::StatusOr<AlsModel> m = TrainAls({}, 3, 5, p);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->user_factors.size(), 12u);
  for (float v : m->user_factors) EXPECT_LT(std::fabs(v), 1e-3f);  // nothing liked: x -> 0
  m = TrainAls({}, 0, 0, p);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_TRUE(m->user_factors.empty());
}

TEST(TrainAls, RejectsInvalidParamsNamingTheField) {
  const std::vector<Interaction> in = {{0, 0, 1.0f}};
  struct Case {
    void (*mutate)(AlsParams&);
    const char* field;
  };
  const Case cases[] = {
      {[](AlsParams& p) { p.factors = 0; }, "factors"},
      {[](AlsParams& p) { p.alpha = -1; }, "alpha"},
      {[](AlsParams& p) { p.alpha = NAN; }, "alpha"},
      {[](AlsParams& p) { p.lambda = -0.5; }, "lambda"},
      {[](AlsParams& p) { p.lambda = INFINITY; }, "lambda"},
      {[](AlsParams& p) { p.iterations = -1; }, "iterations"},
      {[](AlsParams& p) { p.cg_steps = 0; }, "cg_steps"},
      {[](AlsParams& p) { p.threads = 0; }, "threads"},
  };
  for (const Case& c : cases) {
    AlsParams p;
    c.mutate(p);
    absl::StatusOr<AlsModel> m = TrainAls(in, 1, 1, p);
    ASSERT_FALSE(m.ok()) << c.field;
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(m.status().message(), HasSubstr(std::string(c.field) + ":"));
    EXPECT_THAT(ValidateAlsParams(p).message(), HasSubstr(std::string(c.field) + ":"));
  }
  EXPECT_TRUE(ValidateAlsParams(AlsParams{}).ok());
}

TEST(TrainAls, RejectsBadInteractionsNamingTheEntry) {
  const AlsParams p;
  struct Case {
    Interaction bad;
    const char* field;
  };
  for (const Case& c :
       {Case{{2, 0, 1.0f}, "interactions[2].user"}, Case{{0, 3, 1.0f}, "interactions[2].item"},
        Case{{0, 0, NAN}, "interactions[2].weight"}}) {
    const std::vector<Interaction> in = {{0, 0, 1.0f}, {1, 2, 1.0f}, c.bad};
    absl::StatusOr<AlsModel> m = TrainAls(in, 2, 3, p);
    ASSERT_FALSE(m.ok()) << c.field;
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(m.status().message(), HasSubstr(c.field));
  }
  const std::vector<Interaction> overflow = {{0, 0, 3e38f}, {0, 0, 3e38f}};
  EXPECT_THAT(TrainAls(overflow, 1, 1, p).status().message(), HasSubstr("overflows"));
}

}  // namespace
}  // namespace recd::core
