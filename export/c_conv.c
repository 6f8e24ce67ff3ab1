/* Convolutions, depthwise ones included (reference/integer_ops/conv.h ConvPerChannel,
 * depthwise_conv.h DepthwiseConvPerChannel): out[y][x][c] = requantized(bias[c] + the sum, over the
 * filter's taps that fall inside the image, of w * (q - input_zero_point)). Tensors are NHWC.
 *
 * A depthwise convolution is a grouped one with one input channel per group: the generator transposes
 * its filter [1][h][w][channels] to [channels][h][w][1]. Output channel c reads the input channels of
 * its group, c / (out_c / groups).
 */
struct conv {
    int32_t in_h, in_w, in_c, out_h, out_w, out_c, filter_h, filter_w, stride_h, stride_w, pad_h, pad_w;
    int32_t group_c;    /* input channels per group: in_c for an ordinary convolution, 1 for depthwise */
    int32_t input_zero; /* the input's zero point as an offset value u = zero point + 128 */
    const int8_t *weights; /* [out_c][filter_h][filter_w][group_c] */
    struct output out;
};

/* sum(w[i] * (x[i] - zero)) over n contiguous values. */
#if FMNIST_MVE
static int32_t run_dot(const uint8_t *x, const int8_t *w, int32_t n, int32_t zero)
{
    const uint8x16_t flip = vdupq_n_u8(0x80);
    int32_t products = 0, weights = 0;
    for (; n > 0; n -= 16, x += 16, w += 16) {
        mve_pred16_t p = vctp8q((uint32_t)n);
        int8x16_t k = vldrbq_z_s8(w, p);
        products = vmladavaq_s8(products, k, vreinterpretq_s8_u8(veorq_u8(vldrbq_z_u8(x, p), flip)));
        weights = vaddvaq_s8(weights, k);
    }
    return products + (128 - zero) * weights; /* the products were of u - 128 */
}
#else
static int32_t run_dot(const uint8_t *x, const int8_t *w, int32_t n, int32_t zero)
{
    int32_t acc = 0, weights = 0, i = 0;
#if FMNIST_DSP
    for (; i + 4 <= n; i += 4) {
        uint32_t v, k;
        memcpy(&v, x + i, 4);
        memcpy(&k, w + i, 4);
        acc = __smlad(__sxtb16(k), __uxtb16(v), acc);
        acc = __smlad(__sxtb16(__ror(k, 8)), __uxtb16(__ror(v, 8)), acc);
    }
#endif
    for (; i < n; i++)
        acc += w[i] * x[i];
    if (zero)
        for (i = 0; i < n; i++)
            weights += w[i];
    return acc - zero * weights;
}
#endif

/* One output value's taps on one filter row: `taps` positions `stride` bytes apart, group_c channels
 * each (contiguous when the group is the whole input). */
static int32_t row_taps(const struct conv *p, const uint8_t *x, const int8_t *w, int32_t taps)
{
    int32_t acc = 0, t;
    if (p->group_c == p->in_c)
        return run_dot(x, w, taps * p->in_c, p->input_zero);
    for (t = 0; t < taps; t++, x += p->in_c, w += p->group_c)
        acc += run_dot(x, w, p->group_c, p->input_zero);
    return acc;
}

static void conv_layer(const struct conv *p, const uint8_t *in, uint8_t *out)
{
    int32_t groups = p->in_c / p->group_c, per_group = p->out_c / groups;
    int32_t filter_size = p->filter_h * p->filter_w * p->group_c, oy, ox, c, fy;
    for (oy = 0; oy < p->out_h; oy++) {
        int32_t y0 = oy * p->stride_h - p->pad_h; /* the window, clipped to the image: rows fy0..fy1-1 */
        int32_t fy0 = y0 < 0 ? -y0 : 0, fy1 = p->in_h - y0 < p->filter_h ? p->in_h - y0 : p->filter_h;
        for (ox = 0; ox < p->out_w; ox++) {
            int32_t x0 = ox * p->stride_w - p->pad_w;
            int32_t fx0 = x0 < 0 ? -x0 : 0, fx1 = p->in_w - x0 < p->filter_w ? p->in_w - x0 : p->filter_w;
            for (c = 0; c < p->out_c; c++) {
                const int8_t *w = p->weights + c * filter_size + fx0 * p->group_c;
                int32_t acc = p->out.bias[c];
                for (fy = fy0; fy < fy1; fy++)
                    acc += row_taps(p, in + ((y0 + fy) * p->in_w + x0 + fx0) * p->in_c + c / per_group * p->group_c,
                                    w + fy * p->filter_w * p->group_c, fx1 - fx0);
                *out++ = output_value(&p->out, c, acc);
            }
        }
    }
}
