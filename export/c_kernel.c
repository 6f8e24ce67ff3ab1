/* The arithmetic every generated C model shares (export/c_source.py pastes it first, then the kernels of
 * the layers the model has, export/c_dense.c, c_sparse.c, c_conv.c, c_pool.c, then the model's data).
 *
 * Bit for bit what TensorFlow Lite Micro's reference kernels compute, followed from:
 *   tensorflow/lite/kernels/internal/common.h      (MultiplyByQuantizedMultiplier, double rounding)
 *   tensorflow/lite/kernels/internal/reference/softmax.h  (int8 Softmax, gemmlowp fixed point)
 *   third_party/gemmlowp/fixedpoint/fixedpoint.h   (SaturatingRoundingDoublingHighMul,
 *     RoundingDivideByPOT, exp_on_negative_values, one_over_one_plus_x_for_x_in_0_1)
 * and, for the parameters precomputed by the generator, quantization_util.cc (QuantizeMultiplier,
 * PreprocessSoftmaxScaling, CalculateInputRadius), kernel_util.cc (CalculateActivationRangeQuantized)
 * and tensorflow/lite/micro/kernels/softmax_common.cc.
 *
 * Activations are kept as uint8 "offset" values u = q + 128 (q the int8 value TFLite Micro holds), so
 * the first layer reads raw pixels as they are (the input's q is pixel - 128).
 *
 * One source, three paths chosen by the compiler: Helium (MVE, Cortex-M55: 16 multiply-accumulates per
 * instruction), the DSP extension (Cortex-M4, M7, M33: SMLAD, two per instruction), plain C elsewhere.
 */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>
#define FMNIST_MVE 1
#elif defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#define FMNIST_DSP 1
#endif

#if FMNIST_DSP
/* SXTB16/UXTB16 of bytes 1 and 3 (their built-in ROR #8): one instruction where ACLE needs two. */
static inline uint32_t sxtb16_odd(uint32_t v)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

static inline uint32_t uxtb16_odd(uint32_t v)
{
    uint32_t r;
    __asm__("uxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}
#endif

#if defined(__GNUC__)
#define FMNIST_ALIGNED __attribute__((aligned(8))) /* the DSP kernel reads weights with LDRD */
#else
#define FMNIST_ALIGNED
#endif

/* What turns a layer's int32 accumulators into its int8 outputs, per output channel. */
struct output {
    const int32_t *bias;
    const int32_t *multiplier;
    const int8_t *shift;
    int32_t zero_point, activation_min, activation_max;
};

/* gemmlowp SaturatingRoundingDoublingHighMul: the high 32 bits of 2*a*b, rounded. */
static int32_t high_mul(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN)
        return INT32_MAX;
    /* (ab + nudge) / 2^31 truncated, nudge = +-2^30 by sign, is (ab + 2^30) >> 31 for every ab. */
    return (int32_t)(((int64_t)a * b + (1 << 30)) >> 31);
}

/* gemmlowp RoundingDivideByPOT: x / 2^exponent (0 to 31), rounded half away from zero. */
static int32_t divide_by_pot(int32_t x, int exponent)
{
    int32_t mask = (int32_t)((1u << exponent) - 1);
    return (x >> exponent) + ((x & mask) > (mask >> 1) + (x < 0));
}

/* gemmlowp SaturatingRoundingMultiplyByPOT for a positive exponent: x * 2^exponent, saturated. */
static int32_t saturating_shift_left(int32_t x, int exponent)
{
    int32_t threshold = (int32_t)((1u << (31 - exponent)) - 1);
    if (x > threshold)
        return INT32_MAX;
    if (x < -threshold)
        return INT32_MIN;
    return x * (1 << exponent);
}

/* TFLite MultiplyByQuantizedMultiplier (without TFLITE_SINGLE_ROUNDING): shift > 0 shifts left before
 * the multiplication, shift < 0 divides after it. The multiplier is positive, so high_mul's saturation
 * cannot occur. Without branches: compilers would compute both ways and choose. */
static int32_t requantize(int32_t x, int32_t multiplier, int shift)
{
    int left = shift > 0 ? shift : 0;
    int32_t high = (int32_t)(((int64_t)(x * (1 << left)) * multiplier + (1 << 30)) >> 31);
    return divide_by_pot(high, left - shift);
}

/* Accumulators (bias included) of `count` output channels from `first` requantized, offset, clamped
 * to the activation range and stored as u = q + 128 for the next layer. */
static inline void output_values(const struct output *p, int32_t first, const int32_t *acc, int32_t count,
                                 uint8_t *out)
{
    const int32_t *multiplier = p->multiplier + first, zero_point = p->zero_point;
    const int32_t low = p->activation_min, high = p->activation_max;
    const int8_t *shift = p->shift + first;
    int32_t i;
    for (i = 0; i < count; i++) {
        int32_t q = requantize(acc[i], multiplier[i], shift[i]) + zero_point;
        q = q < low ? low : q;
        q = q > high ? high : q;
        out[i] = (uint8_t)(q + 128);
    }
}

struct softmax {
    int32_t input_multiplier, input_left_shift, diff_min;
};

/* gemmlowp exp_on_interval_between_negative_one_quarter_and_0_excl, Q0.31 in and out. */
static int32_t exp_on_quarter(int32_t a)
{
    const int32_t constant_term = 1895147668, one_third = 715827883;
    int32_t x = a + (1 << 28);
    int32_t x2 = high_mul(x, x), x3 = high_mul(x2, x), x4 = high_mul(x2, x2);
    int32_t poly = divide_by_pot(high_mul(divide_by_pot(x4, 2) + x3, one_third) + x2, 1);
    return constant_term + high_mul(constant_term, x + poly);
}

/* gemmlowp exp_on_negative_values: Q5.26 in (a <= 0), Q0.31 out. */
static int32_t exp_on_negative(int32_t a)
{
    static const int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int32_t quarter = 1 << 24;
    int32_t a_mod = (a & (quarter - 1)) - quarter;
    int32_t result = exp_on_quarter(saturating_shift_left(a_mod, 5));
    int32_t remainder = a_mod - a;
    int k;
    for (k = 0; k < 7; k++)
        if (remainder & (1 << (24 + k)))
            result = high_mul(result, barrel[k]);
    return a == 0 ? INT32_MAX : result;
}

/* gemmlowp one_over_one_plus_x_for_x_in_0_1 (Newton-Raphson), Q0.31 in and out. */
static int32_t reciprocal_one_plus(int32_t a)
{
    int64_t sum = (int64_t)a + INT32_MAX;
    int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    int32_t x = 1515870810 + high_mul(half_denominator, -1010580540); /* Q2.29: 48/17 - 32/17 d */
    int k;
    for (k = 0; k < 3; k++) {
        int32_t one_minus = (1 << 29) - high_mul(half_denominator, x);
        x += saturating_shift_left(high_mul(x, one_minus), 2);
    }
    return saturating_shift_left(x, 1);
}

/* The int8 softmax of reference/softmax.h (output scale 1/256, zero point -128) on offset inputs u:
 * only differences of inputs are used, so the offset cancels. Each exponential is computed once. */
static void softmax_layer(const struct softmax *p, const uint8_t *u, int8_t scores[FMNIST_CLASSES])
{
    int32_t exps[FMNIST_CLASSES], max = 0, sum = 0, reciprocal, headroom = 0, bits_over_unit, c;
    uint32_t shifted;
    for (c = 0; c < FMNIST_CLASSES; c++)
        max = u[c] > max ? u[c] : max;
    for (c = 0; c < FMNIST_CLASSES; c++) {
        int32_t diff = u[c] - max;
        exps[c] = diff >= p->diff_min
                      ? exp_on_negative(high_mul(diff * (1 << p->input_left_shift), p->input_multiplier))
                      : 0;
        sum += divide_by_pot(exps[c], 12);
    }
    for (shifted = (uint32_t)sum; !(shifted & 0x80000000u); shifted <<= 1)
        headroom++;
    bits_over_unit = 12 - headroom;
    reciprocal = reciprocal_one_plus((int32_t)(shifted - 0x80000000u));
    for (c = 0; c < FMNIST_CLASSES; c++) {
        int32_t q = -128;
        if (u[c] - max >= p->diff_min) {
            q = divide_by_pot(high_mul(reciprocal, exps[c]), bits_over_unit + 31 - 8) - 128;
            q = q > 127 ? 127 : (q < -128 ? -128 : q);
        }
        scores[c] = (int8_t)q;
    }
}

static int top_class(const int8_t scores[FMNIST_CLASSES])
{
    int best = 0, c;
    for (c = 1; c < FMNIST_CLASSES; c++)
        best = scores[c] > scores[best] ? c : best;
    return best;
}
