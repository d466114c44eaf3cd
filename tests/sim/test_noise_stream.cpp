// The simulator's block noise generator against the sequential reader it replaces:
// - philox_words (16 Philox4x32-10 blocks at a time with AVX-512, 8 with AVX2 or without) returns exactly the
//   words RandomStream(key, stream) reads, from any starting word (inside a block or not) and
//   across batch boundaries, and advances the position by the count;
// - draw_noisy_weight from a StreamPos gives bitwise the weights of the RandomStream overload for
//   uniform and round noise, per tensor and per channel, over two consecutive layers whose
//   second starts inside a Philox block (the stream continues across layers, as in a draw).
// Expected values: RandomStream (core/rng.hpp, Random123's philox4x32), so exact equality.
#include <gtest/gtest.h>

#include <vector>

#include "sim/noise.hpp"
#include "sim_test_util.hpp"

namespace {

using qreg::sim::NoiseKind;
using qreg::sim::StreamPos;

TEST(NoiseStream, PhiloxWordsMatchRandomStream) {
  const std::uint64_t key = qreg::sim::noise_key(11), stream = 0x1234567890ULL;
  qreg::RandomStream rs(key, stream);
  std::vector<std::uint32_t> expected(3000);
  for (auto& v : expected) v = rs.next_u32();
  for (const std::int64_t start : {0, 1, 3, 4, 5, 31, 32, 33, 63, 64, 65, 1001})
    for (const std::int64_t count : {1, 2, 7, 32, 33, 63, 64, 65, 100, 128, 1999}) {
      StreamPos pos{key, stream, static_cast<std::uint64_t>(start)};
      std::vector<std::uint32_t> got(static_cast<std::size_t>(count));
      qreg::sim::philox_words(pos, count, got.data());
      EXPECT_EQ(pos.word, static_cast<std::uint64_t>(start + count));
      for (std::int64_t i = 0; i < count; ++i)
        ASSERT_EQ(got[static_cast<std::size_t>(i)], expected[static_cast<std::size_t>(start + i)])
            << "start " << start << " count " << count << " word " << i;
    }
}

// Block counters whose low 32 bits wrap inside a batch (blocks 2^32 − 5 … 2^32 + 58): the carry
// into the high word, against Random123's block function.
TEST(NoiseStream, PhiloxWordsCarryIntoTheHighCounterWord) {
  const std::uint64_t key = qreg::sim::noise_key(3), stream = 7, first = (std::uint64_t{1} << 32) - 5;
  StreamPos pos{key, stream, 4 * first + 2};
  std::vector<std::uint32_t> got(256);
  qreg::sim::philox_words(pos, 256, got.data());
  for (std::size_t i = 0; i < got.size(); ++i) {
    const std::uint64_t word = 4 * first + 2 + i;
    ASSERT_EQ(got[i], qreg::philox_block(key, stream, word / 4)[word % 4]) << "word " << i;
  }
}

TEST(NoiseStream, BlockDrawEqualsSequentialDraw) {
  const qreg::Tensor w1 = qreg::test::uniform_tensor({7, 33}, 1, 2),
                     w2 = qreg::test::uniform_tensor({5, 3, 3, 3}, 1, 3);
  for (const auto gran : {qreg::Granularity::Tensor, qreg::Granularity::Channel})
    for (const NoiseKind kind : {NoiseKind::Uniform, NoiseKind::Round}) {
      const qreg::QuantParams q1 = qreg::compute_quant_params(w1, {4, gran, qreg::Scheme::Symmetric, 0});
      const qreg::QuantParams q2 = qreg::compute_quant_params(w2, {6, gran, qreg::Scheme::Symmetric, 0});
      qreg::RandomStream rng = qreg::sim::draw_stream(9, 4);
      StreamPos pos = qreg::sim::draw_position(9, 4);
      for (const auto& [w, q] : {std::pair{&w1, &q1}, std::pair{&w2, &q2}}) {  // 231 words: layer 2 starts mid-block
        qreg::Tensor a, ra, b, rb;
        qreg::sim::draw_noisy_weight(kind, *w, *q, rng, a, &ra);
        qreg::sim::draw_noisy_weight(kind, *w, *q, pos, b, &rb);
        for (std::int64_t i = 0; i < w->size(); ++i) {
          ASSERT_EQ(a[i], b[i]) << "element " << i;
          if (kind == NoiseKind::Round) {
            ASSERT_EQ(ra[i], rb[i]) << "element " << i;
          }
        }
      }
    }
}

}  // namespace
