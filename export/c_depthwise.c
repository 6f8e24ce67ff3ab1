/* Depthwise convolutions (reference/integer_ops/depthwise_conv.h DepthwiseConvPerChannel): output
 * channel c reads input channel c / multiplier. Per output position every channel is summed at once,
 * tap by tap over the taps inside the image (a tap's channels are contiguous, in the input as in the
 * weights [filter_h][filter_w][out_c], TFLite's own order), then requantized together. */
struct depthwise {
    int32_t in_h, in_w, in_c, out_h, out_w, out_c, filter_h, filter_w, stride_h, stride_w, pad_h, pad_w;
    int32_t input_zero; /* the input's zero point as an offset value u = zero point + 128 */
    const int8_t *weights;
    struct output out;
};

/* `sums`: out_c int32 of scratch. */
static void depthwise_layer(const struct depthwise *p, const uint8_t *in, uint8_t *out, uint8_t *sums)
{
    const int32_t out_c = p->out_c, in_c = p->in_c, multiplier = out_c / in_c, zero = p->input_zero;
    int32_t *acc = (int32_t *)(void *)sums, oy, ox, y, x, c;
    for (oy = 0; oy < p->out_h; oy++) {
        int32_t y0 = oy * p->stride_h - p->pad_h; /* the window, clipped to the image */
        int32_t y_start = y0 < 0 ? 0 : y0, y_end = y0 + p->filter_h < p->in_h ? y0 + p->filter_h : p->in_h;
        for (ox = 0; ox < p->out_w; ox++, out += out_c) {
            int32_t x0 = ox * p->stride_w - p->pad_w;
            int32_t x_start = x0 < 0 ? 0 : x0, x_end = x0 + p->filter_w < p->in_w ? x0 + p->filter_w : p->in_w;
            memcpy(acc, p->out.bias, (size_t)out_c * sizeof *acc);
            for (y = y_start; y < y_end; y++)
                for (x = x_start; x < x_end; x++) {
                    const uint8_t *u = in + (y * p->in_w + x) * in_c;
                    const int8_t *w = p->weights + ((y - y0) * p->filter_w + x - x0) * out_c;
                    if (multiplier == 1)
                        for (c = 0; c < out_c; c++)
                            acc[c] += w[c] * (u[c] - zero);
                    else
                        for (c = 0; c < out_c; c++)
                            acc[c] += w[c] * (u[c / multiplier] - zero);
                }
            output_values(&p->out, 0, acc, out_c, out);
        }
    }
}
