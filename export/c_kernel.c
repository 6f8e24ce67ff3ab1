/* The kernels of the generated C model (export/c_source.py pastes this file after the model's data).
 *
 * Bit for bit what TensorFlow Lite Micro's reference kernels compute, followed from:
 *   tensorflow/lite/kernels/internal/reference/integer_ops/fully_connected.h  (FullyConnectedPerChannel)
 *   tensorflow/lite/kernels/internal/common.h      (MultiplyByQuantizedMultiplier, double rounding)
 *   tensorflow/lite/kernels/internal/reference/softmax.h  (int8 Softmax, gemmlowp fixed point)
 *   third_party/gemmlowp/fixedpoint/fixedpoint.h   (SaturatingRoundingDoublingHighMul,
 *     RoundingDivideByPOT, exp_on_negative_values, one_over_one_plus_x_for_x_in_0_1)
 * and, for the parameters precomputed by the generator, quantization_util.cc (QuantizeMultiplier,
 * PreprocessSoftmaxScaling, CalculateInputRadius) and tensorflow/lite/micro/kernels/softmax_common.cc.
 *
 * Activations are kept as uint8 "offset" values u = q + 128 (q the int8 value, zero point -128), so the
 * first layer reads raw pixels as they are and (u) is the reference's (input + input_offset).
 */

struct dense {
    int32_t inputs, outputs; /* inputs: a multiple of 4 */
    /* Rows in blocks of four, each block stored input-chunk by input-chunk (four inputs of row 0, of
     * row 1, 2, 3, then the next four inputs), so one pointer streams through it; rows past the last
     * whole block (outputs % 4) follow row by row. Row o of a block starts, like any row, at o * inputs. */
    const int8_t *weights;
    const int32_t *bias;
    const int32_t *multiplier; /* per output channel */
    const int8_t *shift;
    int32_t output_zero_point, activation_min, activation_max;
};

struct softmax {
    int32_t input_multiplier, input_left_shift, diff_min;
};

/* gemmlowp SaturatingRoundingDoublingHighMul: the high 32 bits of 2*a*b, rounded. */
static int32_t high_mul(int32_t a, int32_t b)
{
    int64_t ab = (int64_t)a * (int64_t)b;
    int32_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    if (a == b && a == INT32_MIN)
        return INT32_MAX;
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* gemmlowp RoundingDivideByPOT: x / 2^exponent, rounded half away from zero. */
static int32_t divide_by_pot(int32_t x, int exponent)
{
    int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
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

/* TFLite MultiplyByQuantizedMultiplier (without TFLITE_SINGLE_ROUNDING). */
static int32_t requantize(int32_t x, int32_t multiplier, int shift)
{
    int left = shift > 0 ? shift : 0;
    int right = shift > 0 ? 0 : -shift;
    return divide_by_pot(high_mul(x * (1 << left), multiplier), right);
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>

static uint32_t load32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* SXTB16/UXTB16 with their built-in ROR #8 (bytes 1 and 3), one instruction where ACLE needs two. */
static int16x2_t sxtb16_odd(uint32_t v)
{
    int16x2_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

static int16x2_t uxtb16_odd(uint32_t v)
{
    int16x2_t r;
    __asm__("uxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

/* A block of four rows with the Cortex-M4's SMLAD (two 16-bit multiply-accumulates): each word of four
 * inputs is widened once (UXTB16) for all four rows, each word of weights twice (SXTB16). */
static void dot4(const uint8_t *x, const int8_t *w, int32_t n, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3], chunks;
    for (chunks = n / 4; chunks > 0; chunks--, x += 4, w += 16) {
        uint32_t v = load32(x), k;
        int16x2_t even = (int16x2_t)__uxtb16(v), odd = uxtb16_odd(v);
        k = load32(w);
        a0 = __smlad(__sxtb16(k), even, a0);
        a0 = __smlad(sxtb16_odd(k), odd, a0);
        k = load32(w + 4);
        a1 = __smlad(__sxtb16(k), even, a1);
        a1 = __smlad(sxtb16_odd(k), odd, a1);
        k = load32(w + 8);
        a2 = __smlad(__sxtb16(k), even, a2);
        a2 = __smlad(sxtb16_odd(k), odd, a2);
        k = load32(w + 12);
        a3 = __smlad(__sxtb16(k), even, a3);
        a3 = __smlad(sxtb16_odd(k), odd, a3);
    }
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
}
#else
/* A block of four rows in plain C (cores without DSP instructions, and the host). */
static void dot4(const uint8_t *x, const int8_t *w, int32_t n, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3], chunks;
    for (chunks = n / 4; chunks > 0; chunks--, x += 4, w += 16) {
        int32_t x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
        a0 += x0 * w[0] + x1 * w[1] + x2 * w[2] + x3 * w[3];
        a1 += x0 * w[4] + x1 * w[5] + x2 * w[6] + x3 * w[7];
        a2 += x0 * w[8] + x1 * w[9] + x2 * w[10] + x3 * w[11];
        a3 += x0 * w[12] + x1 * w[13] + x2 * w[14] + x3 * w[15];
    }
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
}
#endif

static int32_t dot(const uint8_t *x, const int8_t *w, int32_t n)
{
    int32_t acc = 0, i;
    for (i = 0; i < n; i++)
        acc += x[i] * w[i];
    return acc;
}

/* One output: the accumulator requantized for its channel, offset, clamped to the activation range,
 * stored as u = q + 128 for the next layer. */
static uint8_t output_value(const struct dense *layer, int32_t o, int32_t acc)
{
    int32_t q = requantize(acc, layer->multiplier[o], layer->shift[o]) + layer->output_zero_point;
    q = q < layer->activation_min ? layer->activation_min : q;
    q = q > layer->activation_max ? layer->activation_max : q;
    return (uint8_t)(q + 128);
}

/* acc = sum(u * w) + bias for each output: blocks of four rows, then any rows left one by one. */
static void dense_layer(const struct dense *layer, const uint8_t *in, uint8_t *out)
{
    const int8_t *w = layer->weights;
    int32_t o = 0, acc[4], r;
    for (; o + 4 <= layer->outputs; o += 4, w += 4 * layer->inputs) {
        for (r = 0; r < 4; r++)
            acc[r] = layer->bias[o + r];
        dot4(in, w, layer->inputs, acc);
        for (r = 0; r < 4; r++)
            out[o + r] = output_value(layer, o + r, acc[r]);
    }
    for (; o < layer->outputs; o++, w += layer->inputs)
        out[o] = output_value(layer, o, layer->bias[o] + dot(in, w, layer->inputs));
}

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
 * only differences of inputs are used, so the offset cancels. */
static void softmax_layer(const struct softmax *p, const uint8_t *u, int n, int8_t *scores)
{
    int32_t max = 0, sum = 0, reciprocal, headroom = 0, bits_over_unit, c;
    uint32_t shifted;
    for (c = 0; c < n; c++)
        max = u[c] > max ? u[c] : max;
    for (c = 0; c < n; c++) {
        int32_t diff = u[c] - max;
        if (diff >= p->diff_min)
            sum += divide_by_pot(exp_on_negative(high_mul(diff * (1 << p->input_left_shift),
                                                          p->input_multiplier)), 12);
    }
    for (shifted = (uint32_t)sum; !(shifted & 0x80000000u); shifted <<= 1)
        headroom++;
    bits_over_unit = 12 - headroom;
    reciprocal = reciprocal_one_plus((int32_t)(shifted - 0x80000000u));
    for (c = 0; c < n; c++) {
        int32_t diff = u[c] - max, q = -128;
        if (diff >= p->diff_min) {
            int32_t e = exp_on_negative(high_mul(diff * (1 << p->input_left_shift), p->input_multiplier));
            q = divide_by_pot(high_mul(reciprocal, e), bits_over_unit + 31 - 8) - 128;
            q = q > 127 ? 127 : (q < -128 ? -128 : q);
        }
        scores[c] = (int8_t)q;
    }
}

static int top_class(const int8_t *scores, int n)
{
    int best = 0, c;
    for (c = 1; c < n; c++)
        best = scores[c] > scores[best] ? c : best;
    return best;
}
