/* Fully connected layers (reference/integer_ops/fully_connected.h, FullyConnectedPerChannel):
 * out[o] = requantized(bias[o] + sum_i w[o][i] * (q[i] - input_zero_point)); convolutions
 * (c_conv.c) use the same rows on each window of their input.
 *
 * The input offset is folded into the bias by the generator: sum_i w * u with u = q + 128, or, on the
 * Helium path, sum_i w * (u - 128), whose bias the generator writes under FMNIST_MVE.
 *
 * Weights layout: rows in blocks of four; a block is stored 16 inputs at a time (16 weights of row 0,
 * of row 1, 2, 3: 64 bytes), then the inputs % 16 last weights of each of its four rows; the rows after
 * the last whole block (outputs % 4) follow, each whole, padded to a multiple of 4 bytes in all. Every
 * block starts 4-byte aligned.
 */
struct dense {
    int32_t inputs, outputs;
    const int8_t *weights;
    struct output out;
};

#if FMNIST_MVE
/* Helium: one VMLADAVA is 16 multiply-accumulates of int8 (u - 128, flipped by one VEOR) by weight. */
static void block4(const uint8_t *x, const int8_t *w, int32_t inputs, int32_t acc[4])
{
    const uint8x16_t flip = vdupq_n_u8(0x80);
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3], chunks = inputs / 16, tail = inputs % 16;
    while (chunks-- > 0) {
        int8x16_t v = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(x), flip));
        int8x16_t w1 = vld1q_s8(w + 16), w2 = vld1q_s8(w + 32), w3 = vld1q_s8(w + 48), w0 = vld1q_s8(w);
        x += 16, w += 64;
        a0 = vmladavaq_s8(a0, w0, v);
        a1 = vmladavaq_s8(a1, w1, v);
        a2 = vmladavaq_s8(a2, w2, v);
        a3 = vmladavaq_s8(a3, w3, v);
    }
    if (tail) { /* lanes past the tail load zero weights */
        mve_pred16_t p = vctp8q((uint32_t)tail);
        int8x16_t v = vreinterpretq_s8_u8(veorq_u8(vldrbq_z_u8(x, p), flip));
        a0 = vmladavaq_s8(a0, vldrbq_z_s8(w, p), v);
        a1 = vmladavaq_s8(a1, vldrbq_z_s8(w + tail, p), v);
        a2 = vmladavaq_s8(a2, vldrbq_z_s8(w + 2 * tail, p), v);
        a3 = vmladavaq_s8(a3, vldrbq_z_s8(w + 3 * tail, p), v);
    }
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
}

static int32_t row_dot(const uint8_t *x, const int8_t *w, int32_t n)
{
    const uint8x16_t flip = vdupq_n_u8(0x80);
    int32_t acc = 0;
    for (; n > 0; n -= 16, x += 16, w += 16) {
        mve_pred16_t p = vctp8q((uint32_t)n);
        acc = vmladavaq_s8(acc, vldrbq_z_s8(w, p), vreinterpretq_s8_u8(veorq_u8(vldrbq_z_u8(x, p), flip)));
    }
    return acc;
}
#else
static int32_t row_dot(const uint8_t *x, const int8_t *w, int32_t n)
{
    int32_t acc = 0, i = 0;
#if FMNIST_DSP
    for (; i + 4 <= n; i += 4) {
        uint32_t v, k;
        memcpy(&v, x + i, 4);
        memcpy(&k, w + i, 4);
        acc = __smlad(__sxtb16(k), __uxtb16(v), acc);
        acc = __smlad(sxtb16_odd(k), uxtb16_odd(v), acc);
    }
#endif
    for (; i < n; i++)
        acc += x[i] * w[i];
    return acc;
}

#if FMNIST_DSP
/* SMLAD: two 16-bit multiply-accumulates. Per 16 inputs of four rows: the inputs widened once
 * (UXTB16, even and odd bytes), each row's 16 weights read by two LDRD and widened (SXTB16). Written
 * in assembly because the 14 registers it needs are all there are: compilers spill some. */
#define FMNIST_ROW(acc, address)                                                                       \
    "ldrd %[k0], %[k1], " address "\n\t"                                                               \
    "sxtb16 %[t], %[k0]\n\t"                                                                           \
    "smlad %[" #acc "], %[t], %[e0], %[" #acc "]\n\t"                                                  \
    "sxtb16 %[k0], %[k0], ror #8\n\t"                                                                  \
    "smlad %[" #acc "], %[k0], %[o0], %[" #acc "]\n\t"                                                 \
    "sxtb16 %[t], %[k1]\n\t"                                                                           \
    "smlad %[" #acc "], %[t], %[e1], %[" #acc "]\n\t"                                                  \
    "sxtb16 %[k1], %[k1], ror #8\n\t"                                                                  \
    "smlad %[" #acc "], %[k1], %[o1], %[" #acc "]\n\t"
#define FMNIST_INPUTS8                                                                                 \
    "ldr %[k0], [%[x]], #4\n\t"                                                                        \
    "ldr %[k1], [%[x]], #4\n\t"                                                                        \
    "uxtb16 %[e0], %[k0]\n\t"                                                                          \
    "uxtb16 %[o0], %[k0], ror #8\n\t"                                                                  \
    "uxtb16 %[e1], %[k1]\n\t"                                                                          \
    "uxtb16 %[o1], %[k1], ror #8\n\t"

/* The first load of each 16 inputs advances the weights' address by 64 (pre-indexed): the loop ends
 * when it reaches the last 16's. */
static void block4(const uint8_t *x, const int8_t *w, int32_t inputs, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3], chunks = inputs / 16, tail = inputs % 16, r;
    uint32_t address = (uint32_t)(uintptr_t)w - 64, last = address + 64 * (uint32_t)chunks;
    uint32_t e0, o0, e1, o1, k0, k1, t;
    if (chunks)
        __asm__ volatile("1:\n\t" FMNIST_INPUTS8 FMNIST_ROW(a0, "[%[w], #64]!") FMNIST_ROW(a1, "[%[w], #16]")
                             FMNIST_ROW(a2, "[%[w], #32]") FMNIST_ROW(a3, "[%[w], #48]") FMNIST_INPUTS8
                                 FMNIST_ROW(a0, "[%[w], #8]") FMNIST_ROW(a1, "[%[w], #24]")
                                     FMNIST_ROW(a2, "[%[w], #40]") FMNIST_ROW(a3, "[%[w], #56]")
                         "cmp %[w], %[last]\n\t"
                         "bne 1b"
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x),
                           [w] "+r"(address), [e0] "=&r"(e0), [o0] "=&r"(o0), [e1] "=&r"(e1),
                           [o1] "=&r"(o1), [k0] "=&r"(k0), [k1] "=&r"(k1), [t] "=&r"(t)
                         : [last] "r"(last)
                         : "cc", "memory");
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
    w += 64 * chunks;
    for (r = 0; r < 4 && tail; r++)
        acc[r] += row_dot(x, w + r * tail, tail);
}
#else
/* Plain C (cores without DSP instructions, and the host): four inputs of four rows at a time. */
static void block4(const uint8_t *x, const int8_t *w, int32_t inputs, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3], chunks = inputs / 16, tail = inputs % 16, r, i;
    for (; chunks > 0; chunks--, w += 48)
        for (i = 0; i < 4; i++, x += 4, w += 4) {
            int32_t x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
            a0 += x0 * w[0] + x1 * w[1] + x2 * w[2] + x3 * w[3];
            a1 += x0 * w[16] + x1 * w[17] + x2 * w[18] + x3 * w[19];
            a2 += x0 * w[32] + x1 * w[33] + x2 * w[34] + x3 * w[35];
            a3 += x0 * w[48] + x1 * w[49] + x2 * w[50] + x3 * w[51];
        }
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
    for (r = 0; r < 4 && tail; r++)
        for (i = 0; i < tail; i++)
            acc[r] += x[i] * w[r * tail + i];
}
#endif
#endif

/* acc = bias + sum(x * w) for each output: blocks of four rows, then any rows left one by one. */
/* Output channels first .. first + rows - 1 of the weights `w` (the layout above) on the input x. */
static void dense_rows(const int8_t *w, int32_t inputs, int32_t first, int32_t rows, const struct output *p,
                       const uint8_t *x, uint8_t *out)
{
    int32_t o = 0, acc[4];
    for (; o + 4 <= rows; o += 4, w += 4 * inputs) {
        memcpy(acc, p->bias + first + o, sizeof acc);
        block4(x, w, inputs, acc);
        output_values(p, first + o, acc, 4, out + o);
    }
    for (; o < rows; o++, w += inputs) {
        acc[0] = p->bias[first + o] + row_dot(x, w, inputs);
        output_values(p, first + o, acc, 1, out + o);
    }
}

static void dense_layer(const struct dense *layer, const uint8_t *in, uint8_t *out)
{
    dense_rows(layer->weights, layer->inputs, 0, layer->outputs, &layer->out, in, out);
}
