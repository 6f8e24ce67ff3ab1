/* Fully connected layers (reference/integer_ops/fully_connected.h, FullyConnectedPerChannel):
 * out[o] = requantized(bias[o] + sum_i w[o][i] * (q[i] - input_zero_point)).
 *
 * The input offset is folded into the bias by the generator: sum_i w * u with u = q + 128, or, on the
 * Helium path, sum_i w * (u - 128), whose bias the generator writes under FMNIST_MVE.
 *
 * Weights layout: rows in blocks of four; a block is stored 16 inputs at a time (16 weights of row 0,
 * of row 1, 2, 3: 64 bytes), then the inputs % 16 last weights of each of its four rows; the rows after
 * the last whole block (outputs % 4) follow, each whole. Every block starts 4-byte aligned.
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
    int32_t acc = 0, i;
    for (i = 0; i < n; i++)
        acc += x[i] * w[i];
    return acc;
}

#if FMNIST_DSP
/* SMLAD: two 16-bit multiply-accumulates. Per 16 inputs of four rows: the inputs widened once
 * (UXTB16, even and odd bytes), each row's 16 weights read by two LDRD and widened (SXTB16). Written
 * in assembly because the 14 registers it needs are all there are: compilers spill some. */
#define FMNIST_ROW(acc, offset)                                                                        \
    "ldrd %[k0], %[k1], [%[w], #" #offset "]\n\t"                                                      \
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

static void block4(const uint8_t *x, const int8_t *w, int32_t inputs, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3], tail = inputs % 16, r, i;
    const int8_t *end = w + inputs / 16 * 64;
    uint32_t e0, o0, e1, o1, k0, k1, t;
    if (w != end)
        __asm__ volatile("1:\n\t" FMNIST_INPUTS8 FMNIST_ROW(a0, 0) FMNIST_ROW(a1, 16) FMNIST_ROW(a2, 32)
                             FMNIST_ROW(a3, 48) FMNIST_INPUTS8 FMNIST_ROW(a0, 8) FMNIST_ROW(a1, 24)
                                 FMNIST_ROW(a2, 40) FMNIST_ROW(a3, 56)
                         "adds %[w], %[w], #64\n\t"
                         "cmp %[w], %[end]\n\t"
                         "bne 1b"
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x),
                           [w] "+r"(w), [e0] "=&r"(e0), [o0] "=&r"(o0), [e1] "=&r"(e1), [o1] "=&r"(o1),
                           [k0] "=&r"(k0), [k1] "=&r"(k1), [t] "=&r"(t)
                         : [end] "r"(end)
                         : "cc", "memory");
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
    for (r = 0; r < 4; r++)
        for (i = 0; i < tail; i++)
            acc[r] += x[i] * w[r * tail + i];
}
#else
/* Plain C (cores without DSP instructions, and the host). */
static void block4(const uint8_t *x, const int8_t *w, int32_t inputs, int32_t acc[4])
{
    int32_t chunk = 16, r, i;
    for (; inputs > 0; inputs -= chunk, x += chunk, w += 4 * chunk) {
        chunk = inputs < 16 ? inputs : 16;
        for (r = 0; r < 4; r++)
            for (i = 0; i < chunk; i++)
                acc[r] += x[i] * w[r * chunk + i];
    }
}
#endif
#endif

/* acc = bias + sum(x * w) for each output: blocks of four rows, then any rows left one by one. */
static void dense_layer(const struct dense *layer, const uint8_t *in, uint8_t *out)
{
    const int8_t *w = layer->weights;
    int32_t o = 0, acc[4], r;
    for (; o + 4 <= layer->outputs; o += 4, w += 4 * layer->inputs) {
        for (r = 0; r < 4; r++)
            acc[r] = layer->out.bias[o + r];
        block4(in, w, layer->inputs, acc);
        for (r = 0; r < 4; r++)
            out[o + r] = output_value(&layer->out, o + r, acc[r]);
    }
    for (; o < layer->outputs; o++, w += layer->inputs)
        out[o] = output_value(&layer->out, o, layer->out.bias[o] + row_dot(in, w, layer->inputs));
}
